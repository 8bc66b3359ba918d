// The demo's connection to imql, built on the TypeScript kit (clients/typescript, a dependency linked
// as @imql/client-kit): the kit's typed documents, its graphql-ws client (the token in
// connection_init) and follow() for the listeners; urql for queries and mutations over HTTP (image
// uploads as multipart requests included). All on the page's own origin: the gateway serves the
// demo, and vite's dev server proxies to a gateway. Logging in uses the development app's /dev/login.
import { bearer, ImqlError } from "@imql/client-kit/http";
import { createImqlWsClient } from "@imql/client-kit/ws";
import { Client, fetchExchange } from "@urql/core";
import type { Client as WSClient } from "graphql-ws";

export * from "@imql/client-kit/generated";
export { follow, type Following } from "@imql/client-kit/follow";

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

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 4000;

/** One HTTP client and one WebSocket (opened by the first subscription) for a logged-in user. The
 * WebSocket reconnects for as long as the page is open (a gateway restart, a network drop), and
 * each follow()ed listener then resubscribes from the last event it handled: graphql-ws sends the
 * subscription's variables again at every reconnect, and follow() keeps `since` in them. */
export function connect(token: string): Connection {
  const ws = createImqlWsClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
    token,
    lazy: true,
    keepAlive: 10_000, // pings: a dead gateway is noticed within seconds
    retryAttempts: Infinity,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(FIRST_RETRY_MS * 2 ** retries, MAX_RETRY_MS))),
    // a gateway that is down refuses the connection, which browsers report as an error event (not
    // a close event, which is all graphql-ws retries by default): retry that too
    shouldRetry: () => true,
  });
  const client = new Client({
    url: "/graphql",
    requestPolicy: "network-only", // the demo keeps its own state, fed by events
    // urql's default Accept (its own, which lists text/event-stream last) gets plain JSON: imql
    // answers with an event stream only when that is the preferred type
    fetchOptions: () => ({ headers: { authorization: bearer(token) } }),
    preferGetMethod: false,
    exchanges: [fetchExchange],
  });
  return { client, ws, close: () => void ws.dispose() };
}

/** The IM error code of a failed operation: the kit's ImqlError (listeners), or urql's CombinedError
 * (queries and mutations) with the code in its first GraphQL error's extensions. */
export function imCode(error: unknown): number | undefined {
  if (error instanceof ImqlError) return error.code;
  const code = (error as { graphQLErrors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> } | undefined)
    ?.graphQLErrors?.[0]?.extensions?.code;
  return typeof code === "number" ? code : undefined;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  const close = error as { code?: unknown; reason?: unknown } | undefined;
  if (typeof close?.code === "number") return `the connection closed (${close.code}${close.reason ? `: ${close.reason}` : ""})`;
  return String(error);
}
