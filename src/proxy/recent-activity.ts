import type { ExchangeRecord } from './exchange.js';

/** The last N exchanges, newest first, for the activity page. Bounded so it never grows. */
export class RecentActivity {
  private readonly items: ExchangeRecord[] = [];

  constructor(private readonly capacity = 200) {}

  add(record: ExchangeRecord): void {
    // The activity page never shows prompt text.
    const { prompt: _prompt, ...shown } = record;
    this.items.unshift({ ...shown, findings: [...record.findings] });
    if (this.items.length > this.capacity) this.items.pop();
  }

  list(limit = this.capacity): ExchangeRecord[] {
    return this.items.slice(0, limit);
  }
}
