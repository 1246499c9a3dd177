import type { ExchangeRecord } from './exchange.js';

/** An exchange as the activity page shows it: when it finished, and no prompt text. */
export type ActivityItem = Omit<ExchangeRecord, 'prompt'> & { at: string };

/**
 * The last N exchanges for the activity page, newest first. A ring buffer: `add` runs once per
 * proxied request, so it must not shift the whole list (unshift on 200 items showed up in profiles);
 * the timestamp string and the page's copies are made only when someone reads the page.
 */
export class RecentActivity {
  private readonly slots: Array<{ shown: Omit<ExchangeRecord, 'prompt'>; at: number } | undefined>;
  private next = 0;
  private size = 0;

  constructor(private readonly capacity = 200) {
    this.slots = new Array<{ shown: Omit<ExchangeRecord, 'prompt'>; at: number } | undefined>(capacity);
  }

  add(record: ExchangeRecord): void {
    // The activity page never shows prompt text, and a held prompt could be megabytes: drop it now.
    const { prompt: _prompt, ...shown } = record;
    this.slots[this.next] = { shown, at: Date.now() };
    this.next = (this.next + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  list(limit = this.capacity): ActivityItem[] {
    const out: ActivityItem[] = [];
    for (let i = 1; i <= Math.min(limit, this.size); i++) {
      const slot = this.slots[(this.next - i + this.capacity) % this.capacity]!;
      out.push({ ...slot.shown, findings: [...slot.shown.findings], at: new Date(slot.at).toISOString() });
    }
    return out;
  }
}
