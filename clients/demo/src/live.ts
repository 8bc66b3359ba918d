// A listener subscription that survives reconnects without losing or repeating work: it keeps the
// cursor of the last event it handled and, when the WebSocket goes (a gateway restart, a network
// drop), subscribes again with `since: <that cursor>`, so the gateway replays exactly what was
// missed (docs/events.md). The first subscription starts from eventCursor, read before the state
// was loaded, so nothing falls between the load and the subscription either.
import type { Client, CombinedError, TypedDocumentNode } from "@urql/core";

type Since = { since?: string | null };

export interface LiveOptions<T> {
  client: Client;
  document: TypedDocumentNode<T, Since>;
  since: string | null;
  cursorOf(data: T): string | null | undefined;
  onEvent(data: T): void;
  /** A GraphQL error ends the subscription for good: 6014/6206/6208 (session over) or 6017 (a
   * cursor too old to resume: reload the state). */
  onFatal(error: CombinedError): void;
  /** Called before each re-subscription, with the cursor it resumes from. */
  onResume?(since: string | null): void;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 4000;

export class Live<T> {
  private cursor: string | null;
  private stopped = false;
  private failures = 0;
  private current: { unsubscribe(): void } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: LiveOptions<T>) {
    this.cursor = options.since;
    this.subscribe();
  }

  get since(): string | null {
    return this.cursor;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.current?.unsubscribe();
    this.current = null;
  }

  private subscribe(): void {
    const { client, document } = this.options;
    this.current = client.subscription(document, { since: this.cursor }).subscribe((result) => {
      if (this.stopped) return;
      if (result.data) {
        this.failures = 0;
        const cursor = this.options.cursorOf(result.data);
        this.options.onEvent(result.data);
        if (cursor) this.cursor = cursor; // after handling: a cursor names work done
      }
      if (result.error) {
        this.current?.unsubscribe();
        this.current = null;
        if (result.error.graphQLErrors.length > 0) {
          this.stopped = true;
          this.options.onFatal(result.error);
        } else {
          this.retry();
        }
      }
    });
  }

  private retry(): void {
    const delay = Math.min(FIRST_RETRY_MS * 2 ** this.failures, MAX_RETRY_MS);
    this.failures += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.options.onResume?.(this.cursor);
      this.subscribe();
    }, delay);
  }
}
