// graphql-sse (GraphQL over Server-Sent Events, distinct connections mode) with imql's
// authentication: every subscription is its own POST with the Authorization header. For networks
// that block WebSockets (some corporate proxies, serverless edges). docs/events.md, "Server-Sent Events".
import { createClient, type Client, type ClientOptions } from "graphql-sse";
import { bearer } from "./http.js";
import { currentToken, type TokenSource } from "./ws.js";

export interface ImqlSseOptions extends Omit<ClientOptions<false>, "headers" | "singleConnection"> {
  /** The session token from `login`, or a function giving the current one. */
  token: TokenSource;
  headers?: Record<string, string>;
}

/**
 * imql refuses a subscription it cannot start (no or an ended session: 401; a bad or expired
 * `since`: 400) with a JSON answer in the GraphQL error shape. graphql-sse takes every non-2xx
 * answer for a network failure and retries it with backoff, which cannot help here; this fetch
 * hands such a refusal to graphql-sse as a stream of that one result, so the subscriber gets the
 * errors (code, codeName) at once. 429 (over the rate limit) and 5xx stay retryable.
 */
export function refusalsAsResults(fetchFn: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await fetchFn(input, init);
    const refused = response.status >= 400 && response.status < 500 && response.status !== 429;
    if (!refused || !(response.headers.get("content-type") ?? "").includes("application/json")) {
      return response;
    }
    const result: unknown = await response.json();
    const stream = `event: next\ndata: ${JSON.stringify(result)}\n\nevent: complete\ndata: \n\n`;
    return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream" } });
  };
}

/** A graphql-sse client for imql's /graphql (http:// or https://). */
export function createImqlSseClient({ token, headers, fetchFn, ...options }: ImqlSseOptions): Client<false> {
  return createClient({
    ...options,
    singleConnection: false, // imql serves the distinct connections mode
    headers: async () => ({ ...headers, authorization: bearer(await currentToken(token)) }),
    fetchFn: refusalsAsResults((fetchFn as typeof fetch | undefined) ?? ((input, init) => fetch(input, init))),
  });
}
