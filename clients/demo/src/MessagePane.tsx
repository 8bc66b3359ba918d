// One conversation: its history (older pages load when the top is scrolled into view), the
// composer (text, image, typing notices) and each own message's read state.
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import type { History, Message } from "./state";
import { sortedMessages } from "./state";

function Body({ m }: { m: Message }) {
  if (m.textElem) return <span className="text">{m.textElem.text}</span>;
  if (m.imageElem) {
    const thumb = m.imageElem.imageList.find((i) => i.type === "V2TIM_IMAGE_TYPE_THUMB") ?? m.imageElem.imageList[0];
    const large = m.imageElem.imageList.find((i) => i.type === "V2TIM_IMAGE_TYPE_LARGE") ?? thumb;
    if (!thumb) return <span className="text">[image]</span>;
    return (
      <a href={large?.url} target="_blank" rel="noreferrer">
        <img className="thumb" src={thumb.url} width={thumb.width || undefined} height={thumb.height || undefined} alt="image" />
      </a>
    );
  }
  return <span className="text other">[{m.elemType.replace("V2TIM_ELEM_TYPE_", "").toLowerCase()}]</span>;
}

export function MessagePane(props: {
  peer: string;
  title: string;
  history: History | undefined;
  typing: boolean;
  onLoadOlder(oldest: Message | undefined): void;
  onSendText(text: string): Promise<void>;
  onSendImage(file: File): Promise<void>;
  onTyping(): void;
}) {
  const { history, onLoadOlder } = props;
  const messages = sortedMessages(history);
  const scroller = useRef<HTMLDivElement>(null);
  const top = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ first: string | undefined; fromBottom: number } | null>(null);
  const [text, setText] = useState("");
  const oldest = messages[0];
  const newest = messages[messages.length - 1];

  // keep the view where it was when older messages come in above; follow new ones at the bottom
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const before = anchor.current;
    if (before && before.first !== oldest?.msgID && before.fromBottom > 80) {
      el.scrollTop = el.scrollHeight - before.fromBottom;
    } else {
      el.scrollTop = el.scrollHeight;
    }
    anchor.current = { first: oldest?.msgID, fromBottom: el.scrollHeight - el.scrollTop };
  }, [oldest?.msgID, newest?.msgID, messages.length]);

  // infinite scroll: the top of the list in view asks for the page before the oldest message
  useEffect(() => {
    const el = top.current;
    if (!el || !history?.loaded || history.complete || history.failed) return;
    const seen = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && onLoadOlder(oldest), {
      root: scroller.current,
    });
    seen.observe(el);
    return () => seen.disconnect();
  }, [history?.loaded, history?.complete, history?.loading, history?.failed, oldest, onLoadOlder]);

  return (
    <section className="pane" data-peer={props.peer}>
      <header>
        <h2>{props.title}</h2>
        {props.typing && (
          <span className="typing" data-testid="typing">
            typing…
          </span>
        )}
      </header>
      <div
        className="messages"
        data-testid="messages"
        ref={scroller}
        onScroll={(e) => {
          const el = e.currentTarget;
          anchor.current = { first: oldest?.msgID, fromBottom: el.scrollHeight - el.scrollTop };
        }}
      >
        <div ref={top} className="top" data-testid="history-top">
          {history?.failed ? (
            <button onClick={() => onLoadOlder(oldest)}>load {history.loaded ? "older messages" : "the conversation"} again</button>
          ) : history?.complete ? (
            "beginning of the conversation"
          ) : history?.loading ? (
            "loading…"
          ) : (
            ""
          )}
        </div>
        {messages.map((m) => (
          <div key={m.msgID} className={`message ${m.isSelf ? "self" : "peer"}`} data-msgid={m.msgID} data-self={m.isSelf}>
            <Body m={m} />
            {m.isSelf && (
              <span className="state" data-read={m.isPeerRead}>
                {m.isPeerRead ? "Read" : "Sent"}
              </span>
            )}
          </div>
        ))}
      </div>
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          const t = text.trim();
          if (!t) return;
          setText("");
          void props.onSendText(t);
        }}
      >
        <label className="image" title="send an image">
          Image
          <input
            type="file"
            accept="image/*"
            aria-label="send an image"
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = "";
              if (file) void props.onSendImage(file);
            }}
          />
        </label>
        <input
          aria-label="message"
          placeholder={`message ${props.peer}`}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            if (e.target.value) props.onTyping();
          }}
        />
        <button type="submit">Send</button>
      </form>
    </section>
  );
}
