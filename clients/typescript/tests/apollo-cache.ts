// Apollo Client 4 with an InMemoryCache that has NO type policies: a history of 4 messages is 4
// cache entries and renders as 4 distinct messages; the conversation list, watched, follows
// conversationListener events (a message from bob, then alice's markC2CMessageAsRead) through
// normalization alone, without being fetched again.
import { InMemoryCache } from "@apollo/client";
import WebSocket from "ws";
import { createImqlApolloClient } from "../src/apollo.js";
import {
  ConversationListenerDocument,
  createImqlWsClient,
  GetC2CHistoryMessageListDocument,
  GetConversationListDocument,
  MarkC2CMessageAsReadDocument,
  type GetConversationListQuery,
} from "../src/index.js";
import { eventCursor, gateway, login, run, sendText, until } from "./harness.js";

type Conversation = GetConversationListQuery["getConversationList"]["conversationList"][number];

run(async () => {
  const [alice, bob] = await Promise.all([login("alice"), login("bob")]);
  for (const text of ["h1", "h2", "h3", "h4"]) {
    await sendText(bob, "alice", text);
  }
  const start = await eventCursor(alice); // before loading: nothing after it can be missed

  const fetched: string[] = []; // operation names of the HTTP requests made
  const recordingFetch: typeof fetch = (input, init) => {
    fetched.push(JSON.parse(String(init?.body ?? "{}")).operationName ?? "?");
    return fetch(input, init);
  };
  const cache = new InMemoryCache(); // no typePolicies, no dataIdFromObject
  const ws = createImqlWsClient({ url: gateway.wsUrl, token: alice.token, webSocketImpl: WebSocket });
  const client = createImqlApolloClient({
    httpUrl: gateway.httpUrl,
    token: () => alice.token,
    subscriptions: ws,
    fetch: recordingFetch,
    cache,
  });

  const history = await client.query({
    query: GetC2CHistoryMessageListDocument,
    variables: { userID: "bob", count: 20 },
  });
  const rendered = (history.data?.getC2CHistoryMessageList ?? []).map((m) => m.textElem?.text ?? "");
  const messageKeys = () => Object.keys(cache.extract()).filter((k) => k.startsWith("Message:"));
  const messagesCachedAfterHistory = messageKeys().length;

  // the conversation list, watched as a component would
  const snapshots: { unreadCount: number; lastText: string }[] = [];
  const list = client.watchQuery({ query: GetConversationListDocument, variables: { count: 20 } });
  const watching = list.subscribe((result) => {
    if (result.dataState !== "complete") {
      return;
    }
    const withBob = result.data.getConversationList.conversationList.find((c: Conversation) => c.userID === "bob");
    if (withBob) {
      snapshots.push({ unreadCount: withBob.unreadCount, lastText: withBob.lastMessage?.textElem?.text ?? "" });
    }
  });
  await until("the conversation list", () => snapshots.length > 0);
  const messagesCachedWithList = messageKeys().length; // lastMessage h4 is history's h4: the same entry

  // conversationListener results are written to the same cache
  const eventTypes: string[] = [];
  const events = client
    .subscribe({ query: ConversationListenerDocument, variables: { since: start } })
    .subscribe((result) => eventTypes.push(result.data?.conversationListener.__typename ?? "error"));

  await sendText(bob, "alice", "h5");
  await until("h5 in the cached list", () => snapshots.some((s) => s.lastText === "h5" && s.unreadCount === 5));
  await client.mutate({ mutation: MarkC2CMessageAsReadDocument, variables: { userID: "bob" } });
  await until("the read in the cached list", () => snapshots.at(-1)?.unreadCount === 0);

  events.unsubscribe();
  watching.unsubscribe();
  client.stop();
  await ws.dispose();
  return {
    rendered,
    historyIDs: (history.data?.getC2CHistoryMessageList ?? []).map((m) => m.id),
    messagesCachedAfterHistory,
    messagesCachedWithList,
    messagesCachedAtEnd: messageKeys().length,
    snapshots,
    eventTypes,
    fetched,
  };
});
