// Every listener subscription of the kit, followed over graphql-ws from one eventCursor read before
// anything happens, hears the action meant for it: alice's profile change (sdkListener), bob's
// friend request (friendshipListener), bob's group with alice in it (groupListener), bob's call
// invitation (signalingListener), bob's message (advancedMsgListener, conversationListener).
import WebSocket from "ws";
import {
  AddFriendDocument,
  AdvancedMsgListenerDocument,
  ConversationListenerDocument,
  CreateGroupDocument,
  createImqlWsClient,
  follow,
  FriendshipListenerDocument,
  GroupListenerDocument,
  InviteDocument,
  request,
  SdkListenerDocument,
  SetSelfInfoDocument,
  SignalingListenerDocument,
  type Following,
  type ListenerData,
} from "../src/index.js";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { eventCursor, gateway, login, run, sendText, until } from "./harness.js";

run(async () => {
  const [alice, bob] = await Promise.all([login("alice"), login("bob")]);
  const start = await eventCursor(alice);
  const client = createImqlWsClient({ url: gateway.wsUrl, token: alice.token, webSocketImpl: WebSocket });

  const heard: Record<string, string[]> = {};
  const errors: string[] = [];
  const followed: Following[] = [];
  const listen = <T extends ListenerData>(name: string, document: TypedDocumentNode<T, { since?: string | null }>) => {
    heard[name] = [];
    followed.push(
      follow(
        client,
        document,
        {
          next: (e) => heard[name]!.push((e as { __typename?: string }).__typename ?? ""),
          error: (e) => errors.push(`${name}: ${String(e)}`),
        },
        start,
      ),
    );
  };
  listen("sdkListener", SdkListenerDocument);
  listen("advancedMsgListener", AdvancedMsgListenerDocument);
  listen("conversationListener", ConversationListenerDocument);
  listen("groupListener", GroupListenerDocument);
  listen("friendshipListener", FriendshipListenerDocument);
  listen("signalingListener", SignalingListenerDocument);

  const as = (user: { token: string }) => ({ token: user.token });
  await request(gateway.httpUrl, SetSelfInfoDocument, { nickName: "Alice" }, as(alice));
  await request(gateway.httpUrl, AddFriendDocument, { userID: "alice", addWording: "hi" }, as(bob));
  const { createGroup: groupID } = await request(
    gateway.httpUrl,
    CreateGroupDocument,
    { groupName: "team", groupType: "V2TIM_GROUP_TYPE_WORK", memberListMap: [{ userID: "alice" }] },
    as(bob),
  );
  const { invite: inviteID } = await request(
    gateway.httpUrl,
    InviteDocument,
    { invitee: "alice", data: "call" },
    as(bob),
  );
  await sendText(bob, "alice", "hello");

  const expected: Record<string, string> = {
    sdkListener: "SelfInfoUpdatedEvent",
    friendshipListener: "FriendApplicationListAddedEvent",
    groupListener: "MemberInvitedEvent",
    signalingListener: "ReceiveNewInvitationEvent",
    advancedMsgListener: "RecvNewMessageEvent",
    conversationListener: "NewConversationEvent",
  };
  const arrived = () => Object.entries(expected).every(([name, type]) => heard[name]!.includes(type));
  await until("each listener's event", () => arrived() || errors.length > 0);
  followed.forEach((f) => f.dispose());
  await client.dispose();
  return { heard, errors, groupID, inviteID };
});
