// Apollo Client for imql: one link chain for queries, mutations, uploads and subscriptions.
// Not re-exported by index.ts, so that code without Apollo does not load it:
// import { createImqlApolloClient } from ".../clients/typescript/src/apollo.js".
//
// The cache needs no type policies: every object with an identity has a graph-wide `id` (Node).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import UploadHttpLink from "apollo-upload-client/UploadHttpLink.mjs";
import { Kind, OperationTypeNode } from "graphql";
import type { Client as WsClient } from "graphql-ws";
import { bearer } from "./http.js";

export interface ImqlApolloOptions {
  /** http(s)://…/graphql */
  httpUrl: string;
  /** The current session token (read per request, so a new login takes effect at once); null before login. */
  token: () => string | null;
  /** Subscriptions go over this graphql-ws client (createImqlWsClient); without it, subscriptions fail. */
  subscriptions?: WsClient;
  /** Automatic persisted queries: a hash first, the document only when imql does not know it yet. */
  persistedQueries?: boolean | { useGETForHashedQueries: boolean };
  /** apollo-upload-client's link, which sends a multipart request when the variables hold a File or
   * Blob (createImageMessage's `file`) and a plain one otherwise. Default true. */
  uploads?: boolean;
  fetch?: typeof fetch;
  cache?: InMemoryCache;
}

/** SHA-256 of a text as hex, with WebCrypto (browsers in a secure context, Node >= 20). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function isSubscription(operation: ApolloLink.Operation): boolean {
  return operation.query.definitions.some(
    (d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === OperationTypeNode.SUBSCRIPTION,
  );
}

export function createImqlLink(options: ImqlApolloOptions): ApolloLink {
  const auth = new SetContextLink((previous) => {
    const token = options.token();
    return token ? { headers: { ...previous["headers"], authorization: bearer(token) } } : {};
  });
  const transport: ApolloLink =
    options.uploads === false
      ? new HttpLink({ uri: options.httpUrl, ...(options.fetch ? { fetch: options.fetch } : {}) })
      : new UploadHttpLink({ uri: options.httpUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
  let http = ApolloLink.from([auth, transport]);
  if (options.persistedQueries) {
    const useGET = typeof options.persistedQueries === "object" && options.persistedQueries.useGETForHashedQueries;
    http = ApolloLink.from([new PersistedQueryLink({ sha256: sha256Hex, useGETForHashedQueries: useGET }), http]);
  }
  if (!options.subscriptions) {
    return http;
  }
  return ApolloLink.split(isSubscription, new GraphQLWsLink(options.subscriptions), http);
}

export function createImqlApolloClient(options: ImqlApolloOptions): ApolloClient {
  return new ApolloClient({ link: createImqlLink(options), cache: options.cache ?? new InMemoryCache() });
}
