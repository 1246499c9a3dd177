import type { ExchangeRecord } from './exchange.js';

/** The last N exchanges, newest first, for the activity page. Bounded so it never grows. */
/** An exchange as the activity page shows it: when it finished, and no prompt text. */
export type ActivityItem = Omit<ExchangeRecord, 'prompt'> & { at: string };

export class RecentActivity {
  private readonly items: ActivityItem[] = [];

  constructor(private readonly capacity = 200) {}

  add(record: ExchangeRecord): void {
    // The activity page never shows prompt text.
    const { prompt: _prompt, ...shown } = record;
    this.items.unshift({ ...shown, findings: [...record.findings], at: new Date().toISOString() });
    if (this.items.length > this.capacity) this.items.pop();
  }

  list(limit = this.capacity): ActivityItem[] {
    return this.items.slice(0, limit);
  }
}
