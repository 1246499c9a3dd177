import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

/**
 * Notices: what the device tells the person (tray notifications, the blocked-notice page) and the audit
 * trail about policy decisions, as an in-process event bus.
 *
 * De-duplication: the same kind of notice for the same app, model and error type within a window (60 s by
 * default, counted from the first one) is one notice with a count. The first is emitted as `notice` at
 * once; repeats inside the window update its count and are emitted as `notice-repeated` (same id), so a
 * retry storm produces one pop-up and the tray can still show "×37".
 */

export type NoticeKind =
  | 'blocked'
  | 'budget_alert'
  | 'app_pending'
  | 'sign_in_required'
  | 'fail_open'
  | 'fail_closed'
  | 'shadow_ai';

export interface NoticeDraft {
  kind: NoticeKind;
  who: { user?: string; app?: string };
  what: { provider?: string; model?: string; host?: string };
  why: { message: string; errorType?: string };
}

export interface Notice extends NoticeDraft {
  id: string;
  /** ISO time of the latest occurrence. */
  when: string;
  /** ISO time of the first occurrence in this de-duplication window. */
  firstAt: string;
  /** Occurrences folded into this notice. */
  count: number;
}

export interface NoticeEvents {
  notice: [Notice];
  'notice-repeated': [Notice];
}

export interface NoticeBusOptions {
  windowMs?: number;
  now?: () => Date;
  /** How many recent notices `recent()` keeps. */
  historySize?: number;
  /** A subscriber threw; the bus carries on with the others. */
  onListenerError?: (err: unknown) => void;
}

type Listener<K extends keyof NoticeEvents> = (...args: NoticeEvents[K]) => void;

export class NoticeBus {
  private readonly emitter = new EventEmitter();
  private readonly windowMs: number;
  private readonly now: () => Date;
  private readonly historySize: number;
  private readonly onListenerError: (err: unknown) => void;
  private readonly open = new Map<string, { notice: Notice; firstMs: number }>();
  private readonly history: Notice[] = [];
  /** Subscriber → its guarded wrapper, per event, so `off` finds what `on` registered. */
  private readonly wrapped = new Map<string, Map<unknown, (...args: unknown[]) => void>>();

  constructor(options: NoticeBusOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? (() => new Date());
    this.historySize = options.historySize ?? 50;
    this.onListenerError = options.onListenerError ?? (() => {});
    this.emitter.setMaxListeners(50);
  }

  on<K extends keyof NoticeEvents>(event: K, listener: Listener<K>): this {
    // A failing subscriber (tray, audit) must neither break the request that raised the notice nor starve the others.
    const safe = (...args: unknown[]) => {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch (err) {
        this.onListenerError(err);
      }
    };
    const forEvent = this.wrapped.get(event) ?? new Map<unknown, (...args: unknown[]) => void>();
    forEvent.set(listener, safe);
    this.wrapped.set(event, forEvent);
    this.emitter.on(event, safe);
    return this;
  }

  off<K extends keyof NoticeEvents>(event: K, listener: Listener<K>): this {
    const safe = this.wrapped.get(event)?.get(listener);
    if (safe) {
      this.emitter.off(event, safe);
      this.wrapped.get(event)?.delete(listener);
    }
    return this;
  }

  /** Emits a notice, or folds it into the open one with the same key; returns the notice as it now stands. */
  publish(draft: NoticeDraft): Notice {
    const now = this.now();
    const nowMs = now.getTime();
    this.sweep(nowMs);
    const key = dedupeKey(draft);
    const open = this.open.get(key);
    if (open && nowMs - open.firstMs < this.windowMs) {
      open.notice.count += 1;
      open.notice.when = now.toISOString();
      open.notice.why = draft.why;
      this.emitter.emit('notice-repeated', { ...open.notice });
      return { ...open.notice };
    }
    const notice: Notice = { ...draft, id: randomUUID(), when: now.toISOString(), firstAt: now.toISOString(), count: 1 };
    this.open.set(key, { notice, firstMs: nowMs });
    this.history.push(notice);
    if (this.history.length > this.historySize) this.history.shift();
    this.emitter.emit('notice', { ...notice });
    return { ...notice };
  }

  /** Latest notices first (with their current counts), optionally of some kinds only. */
  recent(kinds?: readonly NoticeKind[], limit = this.historySize): Notice[] {
    return this.history
      .filter((n) => kinds === undefined || kinds.includes(n.kind))
      .slice(-limit)
      .reverse()
      .map((n) => ({ ...n, who: { ...n.who }, what: { ...n.what }, why: { ...n.why } }));
  }

  private sweep(nowMs: number): void {
    for (const [key, entry] of this.open) if (nowMs - entry.firstMs >= this.windowMs) this.open.delete(key);
  }
}

function dedupeKey(draft: NoticeDraft): string {
  return JSON.stringify([draft.kind, draft.who.app ?? '', draft.what.model ?? '', draft.why.errorType ?? '']);
}
