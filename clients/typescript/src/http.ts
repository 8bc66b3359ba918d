// A typed GraphQL request over fetch, for code that does not use a client library (logging in
// before a client exists, scripts, tests). It throws ImqlError when the answer has errors.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { Kind, print, type DocumentNode } from "graphql";

/** What imql puts in every GraphQL error's `extensions` (README, "Errors for clients"). */
export interface ImqlErrorExtensions {
  /** The IM error code (V2TIMErrorCode.h), e.g. 6014 not logged in, 6017 invalid parameters. */
  code?: number;
  /** The SDK's symbolic name for `code` (ERR_SDK_NOT_LOGGED_IN, ...); absent for codes without one. */
  codeName?: string;
  desc?: string;
  requestId?: string;
  /** Apollo's string code where a protocol needs one (PERSISTED_QUERY_NOT_FOUND). */
  reason?: string;
}

export interface ImqlGraphQLError {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: ImqlErrorExtensions;
}

/** A GraphQL answer with errors (or a non-JSON HTTP failure); `code`/`codeName` are the first error's. */
export class ImqlError extends Error {
  readonly errors: readonly ImqlGraphQLError[];
  readonly status: number;

  constructor(errors: readonly ImqlGraphQLError[], status: number) {
    super(errors.map((e) => e.message).join("; ") || `HTTP ${status}`);
    this.name = "ImqlError";
    this.errors = errors;
    this.status = status;
  }

  get code(): number | undefined {
    return this.errors[0]?.extensions?.code;
  }

  get codeName(): string | undefined {
    return this.errors[0]?.extensions?.codeName;
  }
}

/** The Authorization header value for a session token (from `login`). */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** A document's first operation name, sent as `operationName` (it names requests in imql's logs and metrics). */
export function operationName(document: DocumentNode): string | undefined {
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) {
      return definition.name?.value;
    }
  }
  return undefined;
}

export interface RequestOptions {
  /** The session token; omit for `login`. */
  token?: string | null;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

interface GraphQLResponse<TData> {
  data?: TData | null;
  errors?: ImqlGraphQLError[];
}

/** POST one operation to `url` (…/graphql) and return its `data`, typed by the document. */
export async function request<TData, TVariables extends Record<string, unknown>>(
  url: string,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
  options: RequestOptions = {},
): Promise<TData> {
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.token) {
    headers["authorization"] = bearer(options.token);
  }
  const init: RequestInit = {
    method: "POST",
    headers,
    body: JSON.stringify({ query: print(document), variables, operationName: operationName(document) }),
  };
  if (options.signal) {
    init.signal = options.signal;
  }
  const response = await (options.fetch ?? fetch)(url, init);
  let body: GraphQLResponse<TData>;
  try {
    body = (await response.json()) as GraphQLResponse<TData>;
  } catch {
    throw new ImqlError([], response.status);
  }
  if (body.errors?.length || body.data == null) {
    throw new ImqlError(body.errors ?? [], response.status);
  }
  return body.data;
}
