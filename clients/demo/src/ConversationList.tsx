import type { Conversation } from "./state";
import { isTyping } from "./state";

function preview(c: Conversation): string {
  const m = c.lastMessage;
  if (!m || isTyping(m)) return "";
  if (m.textElem) return m.textElem.text;
  if (m.imageElem) return "[image]";
  return `[${m.elemType.replace("V2TIM_ELEM_TYPE_", "").toLowerCase()}]`;
}

export function ConversationList(props: {
  conversations: Conversation[];
  selected: string | null;
  onOpen(userID: string): void;
  onPin(conversationID: string, isPinned: boolean): void;
}) {
  return (
    <ul className="conversations" data-testid="conversations">
      {props.conversations
        .filter((c) => c.type === "V2TIM_C2C")
        .map((c) => (
          <li
            key={c.id}
            data-conversation={c.conversationID}
            data-pinned={c.isPinned}
            className={`${c.userID === props.selected ? "selected" : ""} ${c.isPinned ? "pinned" : ""}`}
            onClick={() => props.onOpen(c.userID)}
          >
            <div className="row">
              <span className="name">{c.showName || c.userID}</span>
              {c.unreadCount > 0 && (
                <span className="badge" data-testid="unread">
                  {c.unreadCount}
                </span>
              )}
              <button
                className="pin"
                title={c.isPinned ? "unpin" : "pin to the top"}
                aria-label={c.isPinned ? `unpin ${c.userID}` : `pin ${c.userID}`}
                onClick={(e) => {
                  e.stopPropagation();
                  props.onPin(c.conversationID, !c.isPinned);
                }}
              >
                {c.isPinned ? "Unpin" : "Pin"}
              </button>
            </div>
            <div className="preview">{preview(c)}</div>
          </li>
        ))}
    </ul>
  );
}
