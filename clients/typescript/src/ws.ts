// graphql-ws (the graphql-transport-ws protocol) with imql's authentication: the session token goes
// in connection_init's payload as {authorization: "Bearer <token>"}, read at every (re)connect so a
// token renewed by a new login is used from the next connection on.
import { createClient, type Client, type ClientOptions } from "graphql-ws";
import { bearer } from "./http.js";

export type TokenSource = string | (() => string | Promise<string>);

export interface ImqlWsOptions extends Omit<ClientOptions, "connectionParams"> {
  /** The session token from `login`, or a function giving the current one. */
  token: TokenSource;
}

export async function currentToken(token: TokenSource): Promise<string> {
  return typeof token === "function" ? await token() : token;
}

/** A graphql-ws client for imql's /graphql (`ws://` or `wss://`). In Node < 22 pass
 * `webSocketImpl` (the `ws` package); browsers use their WebSocket. */
export function createImqlWsClient({ token, ...options }: ImqlWsOptions): Client {
  return createClient({
    ...options,
    connectionParams: async () => ({ authorization: bearer(await currentToken(token)) }),
  });
}
