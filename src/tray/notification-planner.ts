import type { Notice, NoticeKind } from './agent-status.js';
import { noticeToNotification, type NotificationText } from './notifications.js';

/**
 * Decides which OS notifications to show, so a storm of blocks can never become a storm of pop-ups.
 *
 * The agent's NoticeBus already folds repeats of the same block within 60 s into one notice (same id,
 * growing count). On top of that, at most `maxPerWindow` notifications appear in any `windowMs` sliding
 * window. Whatever does not fit is summed up in one summary notification ("5 more: 4 blocked requests,
 * 1 budget alert"): in the last free slot, or, when no slot is free, as soon as one frees up. Nothing is
 * lost: every new notice is either shown on its own or counted in a summary.
 *
 * The bus starts a new notice (new id) for the same thing once its 60 s window has passed, so an app that
 * keeps retrying a blocked model, or keeps working while the gateway is down, would pop up every minute.
 * So the same thing (kind, app, model, host, error type) is announced again only after a quiet period per
 * kind: 5 minutes for blocks, 15 for connectivity, a day for "app not yet reviewed" and shadow AI. What is
 * kept quiet still shows on the status and activity pages.
 *
 * The shell feeds it the agent's `/notices.json` on every poll; notices already seen (by id) are skipped,
 * and notices that were already old when first seen (from before the app started) are history, not news.
 */

export interface PlannedNotification extends NotificationText {
  /** The notice this pop-up is about (click opens notice.html?id=…); undefined for a summary. */
  noticeId?: string;
  /** For a summary: the ids it stands for. */
  summarizes?: string[];
}

export interface NotificationPlannerOptions {
  maxPerWindow?: number;
  windowMs?: number;
  /** A notice whose latest occurrence is older than this when first seen is not announced. */
  maxAgeMs?: number;
  /** How many notice ids to remember (the agent keeps 50). */
  memory?: number;
  /** Per kind: how long after announcing something the same thing stays quiet. */
  quietMs?: Partial<Record<NoticeKind, number>>;
}

const MINUTE = 60_000;

export const DEFAULT_QUIET_MS: Record<NoticeKind, number> = {
  blocked: 5 * MINUTE,
  sign_in_required: 5 * MINUTE,
  fail_closed: 15 * MINUTE,
  fail_open: 15 * MINUTE,
  // Budget alerts fire once per threshold and window in the agent already.
  budget_alert: 0,
  app_pending: 24 * 60 * MINUTE,
  shadow_ai: 24 * 60 * MINUTE,
};

export class NotificationPlanner {
  private readonly maxPerWindow: number;
  private readonly windowMs: number;
  private readonly maxAgeMs: number;
  private readonly memory: number;
  private readonly quietMs: Record<NoticeKind, number>;
  private readonly seen = new Set<string>();
  /** Same-thing key → when it was last announced. */
  private readonly announced = new Map<string, number>();
  private shownAt: number[] = [];
  /** New notices that did not fit under the cap yet, oldest first. */
  private held: Notice[] = [];

  constructor(options: NotificationPlannerOptions = {}) {
    this.maxPerWindow = Math.max(1, options.maxPerWindow ?? 3);
    this.windowMs = options.windowMs ?? 60_000;
    this.maxAgeMs = options.maxAgeMs ?? 120_000;
    this.memory = options.memory ?? 500;
    this.quietMs = { ...DEFAULT_QUIET_MS, ...options.quietMs };
  }

  /** Takes the current list of notices (any order) and returns the notifications to show now. */
  plan(notices: readonly Notice[], now: Date): PlannedNotification[] {
    const nowMs = now.getTime();
    this.forgetQuietPeriods(nowMs);
    const fresh = notices
      .filter((n) => !this.seen.has(n.id))
      .sort((a, b) => Date.parse(a.firstAt) - Date.parse(b.firstAt));
    for (const notice of fresh) this.remember(notice.id);
    const held = this.held;
    const news = fresh.filter((n) => nowMs - Date.parse(n.when) <= this.maxAgeMs && !this.isQuiet(n, nowMs));
    this.held = [];
    if (held.length === 0 && news.length === 0) return [];

    this.shownAt = this.shownAt.filter((t) => nowMs - t < this.windowMs);
    const slots = this.maxPerWindow - this.shownAt.length;
    if (slots <= 0) {
      this.held = [...held, ...news];
      return [];
    }
    // Notices that had to wait came in a burst and are late: they arrive together as one summary.
    const units: Notice[][] = held.length >= 2 ? [held, ...news.map((n) => [n])] : [...held, ...news].map((n) => [n]);
    const shown = units.length <= slots ? units : [...units.slice(0, slots - 1), units.slice(slots - 1).flat()];
    const planned = shown.map((unit): PlannedNotification => (unit.length === 1 ? { ...noticeToNotification(unit[0]!), noticeId: unit[0]!.id } : summarize(unit)));
    for (let i = 0; i < planned.length; i++) this.shownAt.push(nowMs);
    for (const notice of shown.flat()) this.announced.set(sameThing(notice), nowMs);
    return planned;
  }

  /** Forgets announcements whose quiet period is over, so the map stays small. */
  private forgetQuietPeriods(nowMs: number): void {
    const longest = Math.max(...Object.values(this.quietMs));
    for (const [key, at] of this.announced) if (nowMs - at >= longest) this.announced.delete(key);
  }

  private isQuiet(notice: Notice, nowMs: number): boolean {
    const last = this.announced.get(sameThing(notice));
    return last !== undefined && nowMs - last < this.quietMs[notice.kind];
  }

  private remember(id: string): void {
    this.seen.add(id);
    // Sets iterate in insertion order: the first entry is the oldest.
    if (this.seen.size > this.memory) this.seen.delete(this.seen.values().next().value as string);
  }
}

/** What makes two notices "the same thing" to a person: the NoticeBus's de-duplication key plus the host. */
function sameThing(notice: Notice): string {
  return JSON.stringify([notice.kind, notice.who.app ?? '', notice.what.model ?? '', notice.what.host ?? '', notice.why.errorType ?? '']);
}

const GROUPS: Array<{ kinds: NoticeKind[]; one: string; many: string }> = [
  { kinds: ['blocked', 'sign_in_required', 'fail_closed'], one: 'blocked request', many: 'blocked requests' },
  { kinds: ['budget_alert'], one: 'budget alert', many: 'budget alerts' },
  { kinds: ['fail_open'], one: 'connectivity warning', many: 'connectivity warnings' },
  { kinds: ['app_pending', 'shadow_ai'], one: 'app reported to your admin', many: 'apps reported to your admin' },
];

function summarize(notices: Notice[]): PlannedNotification {
  const parts = GROUPS.map((group) => {
    const count = notices.filter((n) => group.kinds.includes(n.kind)).length;
    return count === 0 ? undefined : `${count} ${count === 1 ? group.one : group.many}`;
  }).filter((p): p is string => p !== undefined);
  return {
    title: `${notices.length} more Bifrost Edge ${notices.length === 1 ? 'notice' : 'notices'}`,
    body: `${parts.join(', ')}. Open Recent activity in the Bifrost Edge menu for details.`,
    summarizes: notices.map((n) => n.id),
  };
}
