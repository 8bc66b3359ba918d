// The chat: conversation list (unread badges, pins), the open conversation (history with infinite
// scroll, text and image sends, read receipts, typing indicator) and the link state. State comes
// from one load (eventCursor, then the conversation list) and then only from events.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import {
  AdvancedMsgListenerDocument,
  type AdvancedMsgListenerSubscription,
  connect,
  type Connection,
  ConversationListenerDocument,
  type ConversationListenerSubscription,
  CreateImageMessageDocument,
  errorMessage,
  EventCursorDocument,
  follow,
  type Following,
  GetC2CHistoryMessageListDocument,
  GetConversationListDocument,
  imCode,
  type Login,
  LogoutDocument,
  MarkC2CMessageAsReadDocument,
  PinConversationDocument,
  SendCustomMessageDocument,
  SendMessageDocument,
  SendMessageReadReceiptsDocument,
  SendTextMessageDocument,
} from "./api";
import { ConversationList } from "./ConversationList";
import { MessagePane } from "./MessagePane";
import { initialState, isTyping, type Message, reduce, sortedConversations, TYPING_DATA } from "./state";

const PAGE = 20;
const TYPING_SHOWN_MS = 5000; // how long "typing…" stays after a notice (the UIKit's figure)
const TYPING_FRESH_MS = 10_000; // older notices (replayed by a resume) are not shown
const TYPING_RESEND_MS = 3000; // at most one notice per this while the user types
const SESSION_OVER = new Set([6014, 6206, 6208]);
const SESSION_ENDED = "Your session ended: logged out, or logged in again elsewhere.";

type MessageEvent = AdvancedMsgListenerSubscription["advancedMsgListener"];
type ConversationEvent = ConversationListenerSubscription["conversationListener"];

export function Chat({ login, onLogout }: { login: Login; onLogout(reason?: string): void }) {
  const [state, dispatch] = useReducer(reduce, initialState);
  const [peer, setPeer] = useState<string | null>(null);
  const connection = useRef<Connection | null>(null);
  const leaving = useRef(false); // our own log-out: the listeners' end is expected
  const acked = useRef(new Set<string>()); // read receipts sent
  const lastTypingSent = useRef(0);
  const me = login.userID;

  // connect, read the position, load the list, then follow the listeners from the position
  // (docs/events.md); after a reconnect each resumes from the last event it handled
  useEffect(() => {
    const conn = connect(login.token);
    connection.current = conn;
    const { client, ws } = conn;
    let disposed = false;
    const following: Following[] = [];
    const unlisten = [
      ws.on("connected", (_socket, _payload, wasRetry) => {
        dispatch({ type: "link", link: "live" });
        if (wasRetry) dispatch({ type: "resumed" });
      }),
      ws.on("closed", () => !disposed && dispatch({ type: "link", link: "reconnecting" })),
    ];
    const fatal = (error: unknown) => {
      if (disposed || leaving.current) return;
      const code = imCode(error);
      if (code !== undefined && SESSION_OVER.has(code)) onLogout(errorMessage(error));
      else dispatch({ type: "error", error: errorMessage(error) });
    };
    // the server ends the listeners when the session ends (a log-out, a kick by a newer login)
    const ended = () => !disposed && !leaving.current && onLogout(SESSION_ENDED);
    (async () => {
      const position = await client.query(EventCursorDocument, {}).toPromise();
      if (position.error || !position.data) return fatal(position.error);
      let nextSeq = null as string | null;
      for (let page = 0; page < 10; page++) {
        const list = await client.query(GetConversationListDocument, { nextSeq, count: 100 }).toPromise();
        if (list.error || !list.data) return fatal(list.error);
        dispatch({ type: "conversations", list: list.data.getConversationList.conversationList });
        if (list.data.getConversationList.isFinished) break;
        nextSeq = list.data.getConversationList.nextSeq;
      }
      if (disposed) return;
      const since = position.data.eventCursor;
      following.push(
        follow(ws, AdvancedMsgListenerDocument, { next: onMessageEvent, error: fatal, complete: ended }, since),
        follow(ws, ConversationListenerDocument, { next: onConversationEvent, error: fatal, complete: ended }, since),
      );
    })();
    function onMessageEvent(e: MessageEvent) {
      if (e.__typename === "RecvNewMessageEvent") {
        const m = e.message;
        if (isTyping(m)) {
          // online-only: only fresh notices mean anything (a resume may replay an old one)
          const age = Date.now() - m.timestamp * 1000;
          if (!m.isSelf && age < TYPING_FRESH_MS) dispatch({ type: "typing", peer: m.userID, until: Date.now() + TYPING_SHOWN_MS });
          return;
        }
        if (m.userID) dispatch({ type: "messages", peer: m.userID, messages: [m] });
      } else if (e.__typename === "RecvC2CReadReceiptEvent") {
        dispatch({ type: "c2cRead", receipts: e.receiptList });
      } else if (e.__typename === "RecvMessageReadReceiptsEvent") {
        dispatch({ type: "receipts", receipts: e.receiptList });
      }
    }
    function onConversationEvent(e: ConversationEvent) {
      if (e.__typename === "NewConversationEvent" || e.__typename === "ConversationChangedEvent") {
        dispatch({ type: "conversations", list: e.conversationList });
      } else if (e.__typename === "ConversationDeletedEvent") {
        dispatch({ type: "conversationsDeleted", ids: e.conversationIDList });
      }
    }
    return () => {
      disposed = true;
      for (const f of following) f.dispose();
      for (const off of unlisten) off();
      conn.close();
    };
  }, [login.token, onLogout]);

  // log out: the session ends on the server too (its token is refused from then on)
  const logOut = useCallback(async () => {
    leaving.current = true;
    await connection.current?.client.mutation(LogoutDocument, {}).toPromise();
    onLogout();
  }, [onLogout]);

  const loadHistory = useCallback(
    async (userID: string, lastMsgID: string | null) => {
      const client = connection.current?.client;
      if (!client) return;
      dispatch({ type: "historyLoading", peer: userID });
      const page = await client.query(GetC2CHistoryMessageListDocument, { userID, count: PAGE, lastMsgID }).toPromise();
      if (page.error || !page.data) {
        dispatch({ type: "historyFailed", peer: userID });
        dispatch({ type: "error", error: page.error?.message ?? "history failed" });
        return;
      }
      const messages = page.data.getC2CHistoryMessageList;
      dispatch({ type: "history", peer: userID, messages, complete: messages.length < PAGE });
    },
    [],
  );

  const open = useCallback(
    (userID: string) => {
      setPeer(userID);
      const known = state.histories[userID];
      if (!known?.loaded && !known?.loading) void loadHistory(userID, null);
    },
    [state.histories, loadHistory],
  );

  const history = peer ? state.histories[peer] : undefined;
  const conversation = peer ? state.conversations[`c2c_${peer}`] : undefined;

  // reading: the open conversation's unread count goes to 0, and receipts go to the senders
  useEffect(() => {
    const client = connection.current?.client;
    if (!client || !peer || !history?.loaded) return;
    if (conversation && conversation.unreadCount > 0) {
      void client.mutation(MarkC2CMessageAsReadDocument, { userID: peer }).toPromise();
    }
    const toAck = Object.values(history.byID)
      .filter((m) => !m.isSelf && m.needReadReceipt && !acked.current.has(m.msgID))
      .map((m) => m.msgID);
    if (toAck.length > 0) {
      for (const id of toAck) acked.current.add(id);
      void client.mutation(SendMessageReadReceiptsDocument, { msgIDList: toAck }).then((r) => {
        if (r.error) for (const id of toAck) acked.current.delete(id); // sent again next time
      });
    }
  }, [peer, history, conversation]);

  // a created message (an image: uploaded first, then sent by its id)
  const send = useCallback(
    async (created: Promise<string | null>) => {
      const client = connection.current?.client;
      if (!client || !peer) return;
      const id = await created;
      if (!id) return;
      const sent = await client.mutation(SendMessageDocument, { id, receiver: peer, needReadReceipt: true }).toPromise();
      if (sent.error || !sent.data) return dispatch({ type: "error", error: sent.error?.message ?? "send failed" });
      dispatch({ type: "messages", peer, messages: [sent.data.sendMessage] });
    },
    [peer],
  );

  // text goes in one request (sendTextMessage: created and sent together), not the SDK's two steps
  const sendText = useCallback(
    async (text: string) => {
      const client = connection.current?.client;
      if (!client || !peer) return;
      const sent = await client
        .mutation(SendTextMessageDocument, { text, receiver: peer, needReadReceipt: true })
        .toPromise();
      if (sent.error || !sent.data) return dispatch({ type: "error", error: sent.error?.message ?? "send failed" });
      dispatch({ type: "messages", peer, messages: [sent.data.sendTextMessage] });
    },
    [peer],
  );

  const sendImage = useCallback(
    (file: File) =>
      send(
        (async () => {
          const r = await connection.current!.client.mutation(CreateImageMessageDocument, { file }).toPromise();
          if (r.error) dispatch({ type: "error", error: r.error.message });
          return r.data?.createImageMessage.id ?? null;
        })(),
      ),
    [send],
  );

  // the typing notice: a custom message in one request, to the peer's online devices only
  const typing = useCallback(async () => {
    const client = connection.current?.client;
    if (!client || !peer || Date.now() - lastTypingSent.current < TYPING_RESEND_MS) return;
    lastTypingSent.current = Date.now();
    await client
      .mutation(SendCustomMessageDocument, { data: TYPING_DATA, receiver: peer, onlineUserOnly: true })
      .toPromise();
  }, [peer]);

  const pin = useCallback((conversationID: string, isPinned: boolean) => {
    void connection.current?.client.mutation(PinConversationDocument, { conversationID, isPinned }).toPromise();
  }, []);

  const loadOlder = useCallback(
    (oldest: Message | undefined) => {
      if (!peer || !history || history.loading || history.complete) return;
      void loadHistory(peer, oldest?.msgID ?? null);
    },
    [peer, history, loadHistory],
  );

  // "typing…" ends by itself
  const [, tick] = useState(0);
  const typingUntil = peer ? state.typingUntil[peer] ?? 0 : 0;
  useEffect(() => {
    if (typingUntil <= Date.now()) return;
    const t = setTimeout(() => tick((n) => n + 1), typingUntil - Date.now() + 10);
    return () => clearTimeout(t);
  }, [typingUntil]);

  const conversations = useMemo(() => sortedConversations(state), [state]);
  return (
    <div className="chat">
      <aside>
        <header>
          <span className="me" data-testid="me">{me}</span>
          <span className={`link ${state.link}`} data-testid="link" data-state={state.link} data-resumes={state.resumes}>
            {state.link === "live" ? "live" : state.link === "connecting" ? "connecting…" : "reconnecting…"}
          </span>
          <button onClick={() => void logOut()}>Log out</button>
        </header>
        <NewChat onOpen={open} me={me} />
        <ConversationList conversations={conversations} selected={peer} onOpen={open} onPin={pin} />
      </aside>
      <main>
        {state.error && (
          <div className="error" role="alert" onClick={() => dispatch({ type: "error", error: null })}>
            {state.error}
          </div>
        )}
        {peer ? (
          <MessagePane
            key={peer}
            peer={peer}
            title={conversation?.showName ?? peer}
            history={history}
            typing={typingUntil > Date.now()}
            onLoadOlder={loadOlder}
            onSendText={sendText}
            onSendImage={sendImage}
            onTyping={typing}
          />
        ) : (
          <p className="hint">Pick a conversation, or start one with a user ID.</p>
        )}
      </main>
    </div>
  );
}

function NewChat({ onOpen, me }: { onOpen(userID: string): void; me: string }) {
  const [userID, setUserID] = useState("");
  return (
    <form
      className="new-chat"
      onSubmit={(e) => {
        e.preventDefault();
        const id = userID.trim();
        if (id && id !== me) onOpen(id);
        setUserID("");
      }}
    >
      <input aria-label="chat with user ID" placeholder="chat with user ID…" value={userID} onChange={(e) => setUserID(e.target.value)} />
      <button type="submit">Chat</button>
    </form>
  );
}
