// Following a listener subscription from a position, with graphql-ws or graphql-sse.
//
// Every listener event carries `cursor`; subscribing with `since: <cursor>` delivers every event
// after it, then live ones. follow() keeps the last handled event's cursor in the subscription's
// own variables. Both graphql-ws and graphql-sse serialize the payload again whenever they
// subscribe again after a lost connection (their built-in retries), so a reconnect resumes right
// after the last event handled: nothing lost, nothing repeated. Start from `eventCursor` (read
// BEFORE loading history or the conversation list) to subscribe without a gap (docs/events.md).
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { ImqlError, operationName, type ImqlGraphQLError } from "./http.js";

/** The part of graphql-ws's and graphql-sse's clients that follow() uses. */
export interface SubscribingClient {
  subscribe(
    payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
    sink: {
      next(value: { data?: unknown; errors?: readonly unknown[] | null | undefined }): void;
      error(error: unknown): void;
      complete(): void;
    },
  ): () => void;
}

/** A listener document's data: one listener field whose events all carry `cursor`. */
export type ListenerData = { [field: string]: { cursor: string } };

/** The event union of a listener document (switch on `__typename`). */
export type ListenerEvent<TData extends ListenerData> = TData[keyof TData];

export interface FollowHandlers<TEvent> {
  next(event: TEvent): void;
  /** An ImqlError for GraphQL errors (6017: a `since` that is invalid or expired: load state
   * again and follow from a new eventCursor), else the transport's error once its retries are spent. */
  error?(error: unknown): void;
  /** The server ended the subscription: logout, or this session was kicked (after onKickedOffline). */
  complete?(): void;
}

export interface Following {
  /** The cursor of the last event handled (or the `since` followed from): resume here. */
  readonly cursor: string | null;
  dispose(): void;
}

function asError(error: unknown): unknown {
  // graphql-ws reports a subscription's `error` message as its list of GraphQL errors
  return Array.isArray(error) ? new ImqlError(error as ImqlGraphQLError[], 0) : error;
}

export function follow<TData extends ListenerData, TVariables extends { since?: string | null }>(
  client: SubscribingClient,
  document: TypedDocumentNode<TData, TVariables>,
  handlers: FollowHandlers<ListenerEvent<TData>>,
  since: string | null = null,
): Following {
  const variables: { since: string | null } = { since };
  const payload = { query: print(document), variables, operationName: operationName(document) ?? null };
  let refused = false; // a result with errors and no data ends the subscription: no complete() after it
  const dispose = client.subscribe(payload, {
    next(result) {
      if (result.errors?.length) {
        refused = result.data == null;
        handlers.error?.(new ImqlError(result.errors as ImqlGraphQLError[], 0));
        return;
      }
      const event = result.data ? Object.values(result.data as TData)[0] : undefined;
      if (event === undefined) {
        return;
      }
      variables.since = event.cursor; // read again by the client when it subscribes after a reconnect
      handlers.next(event as ListenerEvent<TData>);
    },
    error(error) {
      handlers.error?.(asError(error));
    },
    complete() {
      if (!refused) {
        handlers.complete?.();
      }
    },
  });
  return {
    get cursor() {
      return variables.since;
    },
    dispose,
  };
}
