// The demo's connection to imql: urql over HTTP (queries, mutations, multipart uploads) and
// graphql-ws for subscriptions, both on the page's own origin (the gateway serves the demo), and
// the development app's login endpoint. Typed documents come from src/generated (graphql-codegen).
import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWSClient, type Client as WSClient } from "graphql-ws";

export * from "./generated/graphql";

export interface Login {
  token: string;
  userID: string;
  expireTime: number;
}

/** POST /dev/login: the gateway mints the user's UserSig and logs in (development app only). */
export async function devLogin(userID: string): Promise<Login> {
  const answer = await fetch("/dev/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userID }),
  });
  const body = await answer.json();
  if (!answer.ok) throw new Error(body?.errors?.[0]?.message ?? `login failed (HTTP ${answer.status})`);
  return body as Login;
}

export interface Connection {
  client: Client;
  ws: WSClient;
  close(): void;
}

/** One HTTP client and one WebSocket (opened on the first subscription) for a logged-in user. The
 * WebSocket does not retry by itself: a subscription that loses it ends with an error, and
 * src/live.ts subscribes again from its last cursor, which graphql-ws's own retry cannot do (it
 * repeats the first subscribe message, with the `since` it started from). */
export function connect(token: string): Connection {
  const authorization = `Bearer ${token}`;
  const ws = createWSClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
    connectionParams: { authorization },
    lazy: true,
    retryAttempts: 0,
    keepAlive: 10_000, // pings: a dead gateway is noticed within seconds
  });
  const client = new Client({
    url: "/graphql",
    requestPolicy: "network-only", // the demo keeps its own state, fed by events
    // urql's default Accept also lists text/event-stream, which imql takes as asking for its SSE
    // transport: the answer would be an event stream. Queries and mutations want plain JSON.
    fetchOptions: () => ({ headers: { authorization, accept: "application/graphql-response+json, application/json" } }),
    preferGetMethod: false,
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              return { unsubscribe: ws.subscribe(input, sink) };
            },
          };
        },
      }),
    ],
  });
  return { client, ws, close: () => void ws.dispose() };
}

/** The IM error code of a failed operation (extensions.code), if it has one. */
export function imCode(error: { graphQLErrors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> } | undefined): number | undefined {
  const code = error?.graphQLErrors?.[0]?.extensions?.code;
  return typeof code === "number" ? code : undefined;
}
