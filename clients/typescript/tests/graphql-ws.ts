// graphql-ws with the kit: alice follows her messages from eventCursor; bob's message arrives; the
// connection drops while bob sends another, and graphql-ws's reconnect resumes after the last event
// (follow() keeps it as `since`): nothing lost, nothing twice; a new subscription from that cursor
// gets only what came later; a bad `since` is an error with imql's code and its name.
import WebSocket from "ws";
import {
  AdvancedMsgListenerDocument,
  ConversationListenerDocument,
  createImqlWsClient,
  follow,
  ImqlError,
  type AdvancedMsgListenerSubscription,
  type ConversationListenerSubscription,
} from "../src/index.js";
import { eventCursor, gateway, login, run, sendText, until } from "./harness.js";

type MsgEvent = AdvancedMsgListenerSubscription["advancedMsgListener"];
type ConvEvent = ConversationListenerSubscription["conversationListener"];

function texts(events: MsgEvent[]): string[] {
  return events.flatMap((e) => (e.__typename === "RecvNewMessageEvent" ? [e.message.textElem?.text ?? ""] : []));
}

run(async () => {
  const [alice, bob] = await Promise.all([login("alice"), login("bob")]);
  const start = await eventCursor(alice);

  const sockets: WebSocket[] = [];
  const reconnects: boolean[] = [];
  let closes = 0;
  let reconnectGate: Promise<void> = Promise.resolve();
  const client = createImqlWsClient({
    url: gateway.wsUrl,
    token: alice.token,
    webSocketImpl: WebSocket,
    retryAttempts: 3,
    retryWait: () => reconnectGate, // the test decides when the client may reconnect
    on: {
      connected: (socket, _payload, wasRetry) => {
        sockets.push(socket as WebSocket);
        reconnects.push(wasRetry);
      },
      closed: () => {
        closes += 1;
      },
    },
  });

  const messages: MsgEvent[] = [];
  const conversations: ConvEvent[] = [];
  const errors: unknown[] = [];
  const following = follow(
    client,
    AdvancedMsgListenerDocument,
    { next: (e) => messages.push(e), error: (e) => errors.push(e) },
    start,
  );
  const convFollowing = follow(client, ConversationListenerDocument, { next: (e) => conversations.push(e) }, start);

  await sendText(bob, "alice", "m1");
  await until("m1", () => texts(messages).includes("m1"));
  await until("the conversation event for m1", () => conversations.some((e) => "conversationList" in e));
  const cursorAfterM1 = following.cursor;

  // the network drops; bob sends m2 before the client may reconnect
  let letReconnect!: () => void;
  reconnectGate = new Promise((resolve) => (letReconnect = resolve));
  sockets[0]!.terminate();
  await until("the close", () => closes === 1);
  await sendText(bob, "alice", "m2");
  letReconnect();
  await until("m2 after the reconnect", () => texts(messages).includes("m2"));

  following.dispose();
  convFollowing.dispose();
  const resumeFrom = following.cursor;
  await sendText(bob, "alice", "m3");
  const resumed: MsgEvent[] = [];
  const again = follow(client, AdvancedMsgListenerDocument, { next: (e) => resumed.push(e) }, resumeFrom);
  await until("m3 from the cursor", () => resumed.length > 0);
  again.dispose();

  const refusal = await new Promise<unknown>((resolve) => {
    follow(client, AdvancedMsgListenerDocument, { next: () => undefined, error: resolve }, "not-a-cursor");
  });
  await client.dispose();

  const received = messages.filter((e) => e.__typename === "RecvNewMessageEvent");
  const withList = conversations.find((e) => "conversationList" in e);
  return {
    texts: texts(messages),
    senders: received.map((e) => (e.__typename === "RecvNewMessageEvent" ? e.message.sender : "")),
    messageIDs: received.map((e) => (e.__typename === "RecvNewMessageEvent" ? e.message.id : "")),
    cursors: messages.map((e) => e.cursor),
    cursorAfterM1,
    resumedTexts: texts(resumed),
    connections: sockets.length,
    reconnects,
    followErrors: errors.length,
    conversationEvents: conversations.map((e) => e.__typename),
    conversationIDs:
      withList && "conversationList" in withList ? withList.conversationList.map((c) => c.conversationID) : [],
    refusal:
      refusal instanceof ImqlError ? { code: refusal.code, codeName: refusal.codeName } : { other: String(refusal) },
  };
});
