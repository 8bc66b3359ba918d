// What every Node scenario shares: the gateway's addresses and the users' UserSigs from the
// environment (set by tests/test_node_clients.py), logging in with the kit's LoginDocument, sending
// a text the SDK's way, waiting for a condition, and the one JSON line a scenario prints.
import {
  CreateTextMessageDocument,
  EventCursorDocument,
  LoginDocument,
  SendMessageDocument,
  request,
  type SendMessageMutation,
} from "../src/index.js";

export interface Gateway {
  httpUrl: string;
  wsUrl: string;
}

export interface User {
  userID: string;
  token: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (tests/test_node_clients.py sets it)`);
  }
  return value;
}

export const gateway: Gateway = { httpUrl: required("IMQL_HTTP_URL"), wsUrl: required("IMQL_WS_URL") };

/** UserSigs minted by the test for the users it needs, {userID: sig}. */
const sigs = JSON.parse(required("IMQL_USER_SIGS")) as Record<string, string>;

export async function login(userID: string): Promise<User> {
  const userSig = sigs[userID];
  if (!userSig) {
    throw new Error(`no UserSig for ${userID}`);
  }
  const { login } = await request(gateway.httpUrl, LoginDocument, { userID, userSig, platform: "web" });
  return { userID: login.userID, token: login.token };
}

/** createTextMessage then sendMessage, as a user: the message as its receiver will read it. */
export async function sendText(from: User, to: string, text: string): Promise<SendMessageMutation["sendMessage"]> {
  const options = { token: from.token };
  const created = await request(gateway.httpUrl, CreateTextMessageDocument, { text }, options);
  const sent = await request(
    gateway.httpUrl,
    SendMessageDocument,
    { id: created.createTextMessage.id, receiver: to },
    options,
  );
  return sent.sendMessage;
}

export async function eventCursor(user: User): Promise<string> {
  return (await request(gateway.httpUrl, EventCursorDocument, {}, { token: user.token })).eventCursor;
}

/** Resolves once `condition` holds; rejects after `seconds` naming what was awaited (a hang guard,
 * not a measurement: the condition is what the test checks). */
export async function until(what: string, condition: () => boolean, seconds = 15): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs a scenario: its result is printed as one JSON line for the test to check; a failure exits 1. */
export function run(scenario: () => Promise<unknown>): void {
  scenario().then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
