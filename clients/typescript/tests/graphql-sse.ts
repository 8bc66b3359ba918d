// graphql-sse (distinct connections mode) with the kit: alice follows her messages from eventCursor
// over SSE, bob's message arrives; a new subscription from the last cursor gets only what came
// after it; a bad `since` is refused before the stream starts.
import {
  AdvancedMsgListenerDocument,
  createImqlSseClient,
  follow,
  ImqlError,
  type AdvancedMsgListenerSubscription,
} from "../src/index.js";
import { eventCursor, gateway, login, run, sendText, until } from "./harness.js";

type MsgEvent = AdvancedMsgListenerSubscription["advancedMsgListener"];

function texts(events: MsgEvent[]): string[] {
  return events.flatMap((e) => (e.__typename === "RecvNewMessageEvent" ? [e.message.textElem?.text ?? ""] : []));
}

run(async () => {
  const [alice, bob] = await Promise.all([login("alice"), login("bob")]);
  const start = await eventCursor(alice);
  const requests: { method: string; accept: string; authorized: boolean; status: number; type: string }[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const response = await fetch(input, init);
    requests.push({
      method: init?.method ?? "GET",
      accept: headers.get("accept") ?? "",
      authorized: headers.get("authorization") === `Bearer ${alice.token}`,
      status: response.status,
      type: response.headers.get("content-type") ?? "",
    });
    return response;
  };
  const client = createImqlSseClient({ url: gateway.httpUrl, token: alice.token, fetchFn: recordingFetch });

  const first: MsgEvent[] = [];
  const following = follow(client, AdvancedMsgListenerDocument, { next: (e) => first.push(e) }, start);
  await sendText(bob, "alice", "s1");
  await until("s1 over SSE", () => texts(first).includes("s1"));
  following.dispose();

  await sendText(bob, "alice", "s2");
  const resumed: MsgEvent[] = [];
  const again = follow(client, AdvancedMsgListenerDocument, { next: (e) => resumed.push(e) }, following.cursor);
  await until("s2 from the cursor", () => resumed.length > 0);
  again.dispose();

  const refusal = await new Promise<unknown>((resolve) => {
    follow(client, AdvancedMsgListenerDocument, { next: () => undefined, error: resolve }, "not-a-cursor");
  });
  client.dispose();
  return {
    firstTexts: texts(first),
    sender: first[0]?.__typename === "RecvNewMessageEvent" ? first[0].message.sender : "",
    resumedTexts: texts(resumed),
    requests,
    refusal:
      refusal instanceof ImqlError ? { code: refusal.code, codeName: refusal.codeName } : { other: String(refusal) },
  };
});
