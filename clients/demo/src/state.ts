// The chat's state and how events change it. Everything is keyed by identity (conversationID,
// msgID), so an event seen twice (a replay after a resume, a history page that overlaps a live
// message) changes nothing the second time.
import type { ConversationFieldsFragment, MessageFieldsFragment, ReceiptFieldsFragment } from "./api";

export type Conversation = ConversationFieldsFragment;
export type Message = MessageFieldsFragment;
export type LinkState = "connecting" | "live" | "reconnecting";

export interface History {
  byID: Record<string, Message>;
  loaded: boolean; // the newest page is in
  loading: boolean;
  complete: boolean; // the oldest message is in
  failed: boolean; // the last page did not come: no automatic retry (the user asks)
}

export interface State {
  conversations: Record<string, Conversation>;
  histories: Record<string, History>; // by peer userID
  typingUntil: Record<string, number>; // peer → ms
  link: LinkState;
  resumes: number;
  error: string | null;
}

export const initialState: State = { conversations: {}, histories: {}, typingUntil: {}, link: "connecting", resumes: 0, error: null };

export type Action =
  | { type: "conversations"; list: Conversation[] }
  | { type: "conversationsDeleted"; ids: string[] }
  | { type: "historyLoading"; peer: string }
  | { type: "history"; peer: string; messages: Message[]; complete: boolean }
  | { type: "historyFailed"; peer: string }
  | { type: "messages"; peer: string; messages: Message[] }
  | { type: "c2cRead"; receipts: ReceiptFieldsFragment[] }
  | { type: "receipts"; receipts: ReceiptFieldsFragment[] }
  | { type: "typing"; peer: string; until: number }
  | { type: "link"; link: LinkState }
  | { type: "resumed" }
  | { type: "error"; error: string | null };

const emptyHistory: History = { byID: {}, loaded: false, loading: false, complete: false, failed: false };

function withMessages(history: History, messages: Message[]): History {
  const byID = { ...history.byID };
  for (const m of messages) byID[m.msgID] = { ...byID[m.msgID], ...m };
  return { ...history, byID };
}

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "conversations": {
      const conversations = { ...state.conversations };
      for (const c of action.list) conversations[c.conversationID] = c;
      // a conversation's lastMessage is a message of its history too
      let histories = state.histories;
      for (const c of action.list) {
        if (c.lastMessage && c.userID && histories[c.userID]) {
          histories = { ...histories, [c.userID]: withMessages(histories[c.userID], [c.lastMessage]) };
        }
      }
      return { ...state, conversations, histories };
    }
    case "conversationsDeleted": {
      const conversations = { ...state.conversations };
      for (const id of action.ids) delete conversations[id];
      return { ...state, conversations };
    }
    case "historyLoading": {
      const history = state.histories[action.peer] ?? emptyHistory;
      return { ...state, histories: { ...state.histories, [action.peer]: { ...history, loading: true, failed: false } } };
    }
    case "historyFailed": {
      const history = state.histories[action.peer] ?? emptyHistory;
      return { ...state, histories: { ...state.histories, [action.peer]: { ...history, loading: false, failed: true } } };
    }
    case "history": {
      const history = withMessages(state.histories[action.peer] ?? emptyHistory, action.messages);
      const next = { ...history, loading: false, loaded: true, complete: action.complete || history.complete };
      return { ...state, histories: { ...state.histories, [action.peer]: next } };
    }
    case "messages": {
      const history = withMessages(state.histories[action.peer] ?? emptyHistory, action.messages);
      const typingUntil = { ...state.typingUntil };
      if (action.messages.some((m) => !m.isSelf)) delete typingUntil[action.peer]; // the message they typed
      return { ...state, histories: { ...state.histories, [action.peer]: history }, typingUntil };
    }
    case "c2cRead": {
      // the peer read everything up to the receipt's time
      const histories = { ...state.histories };
      for (const r of action.receipts) {
        const history = histories[r.userID];
        if (!history) continue;
        const read = Object.values(history.byID).filter((m) => m.isSelf && !m.isPeerRead && m.timestamp <= r.timestamp);
        histories[r.userID] = withMessages(history, read.map((m) => ({ ...m, isPeerRead: true })));
      }
      return { ...state, histories };
    }
    case "receipts": {
      const histories = { ...state.histories };
      for (const r of action.receipts) {
        for (const [peer, history] of Object.entries(histories)) {
          const m = history.byID[r.msgID];
          if (m && r.isPeerRead) histories[peer] = withMessages(history, [{ ...m, isPeerRead: true }]);
        }
      }
      return { ...state, histories };
    }
    case "typing":
      return { ...state, typingUntil: { ...state.typingUntil, [action.peer]: action.until } };
    case "link":
      return { ...state, link: action.link };
    case "resumed":
      return { ...state, resumes: state.resumes + 1 };
    case "error":
      return { ...state, error: action.error };
  }
}

/** Pinned first, then most recent activity first (as getConversationList orders them). */
export function sortedConversations(state: State): Conversation[] {
  return Object.values(state.conversations).sort(
    (a, b) => Number(b.isPinned) - Number(a.isPinned) || b.orderKey - a.orderKey,
  );
}

/** Oldest first, for display. */
export function sortedMessages(history: History | undefined): Message[] {
  if (!history) return [];
  return Object.values(history.byID)
    .filter((m) => !isTyping(m))
    .sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
}

// Tencent's UIKit typing notice: an online-only custom message with this businessID.
export const TYPING_BUSINESS_ID = "user_typing_status";
export const TYPING_DATA = JSON.stringify({
  businessID: TYPING_BUSINESS_ID,
  typingStatus: 1,
  version: 1,
  userAction: 14,
  actionParam: "EIMAMSG_InputStatus_Ing",
});

export function isTyping(m: Message): boolean {
  if (!m.customElem) return false;
  try {
    return JSON.parse(m.customElem.data)?.businessID === TYPING_BUSINESS_ID;
  } catch {
    return false;
  }
}
