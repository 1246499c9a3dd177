export interface LabelLimiterOptions {
  /** Distinct values kept before new ones collapse into `overflowValue`. */
  maxValues: number;
  /** Longer values are cut to this many characters. */
  maxLength?: number;
  /** When set, only these values pass; anything else becomes `overflowValue`. */
  allowed?: readonly string[];
  overflowValue?: string;
  emptyValue?: string;
}

/**
 * Bounds one label's cardinality: every distinct label value is a separate time series in Prometheus,
 * and model names, app names and error reasons come from the outside world. The first `maxValues`
 * values seen keep their name; later ones are counted under `other`.
 */
export class LabelLimiter {
  private readonly seen = new Set<string>();
  private readonly allowed?: ReadonlySet<string>;
  private readonly maxLength: number;
  private readonly overflowValue: string;
  private readonly emptyValue: string;

  constructor(private readonly options: LabelLimiterOptions) {
    this.allowed = options.allowed ? new Set(options.allowed) : undefined;
    this.maxLength = options.maxLength ?? 64;
    this.overflowValue = options.overflowValue ?? 'other';
    this.emptyValue = options.emptyValue ?? 'unknown';
  }

  value(raw: string | null | undefined): string {
    // Control characters would corrupt the exposition format's line structure.
    const cleaned = (raw ?? '').replace(/[\p{Cc}]/gu, '').trim();
    if (cleaned === '') return this.emptyValue;
    const value = Array.from(cleaned).slice(0, this.maxLength).join('');
    if (this.allowed) return this.allowed.has(value) ? value : this.overflowValue;
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.options.maxValues) return this.overflowValue;
    this.seen.add(value);
    return value;
  }
}
