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

/** How many raw values' answers a limiter keeps (raw values come from outside: the map must not grow with them). */
const MAX_REMEMBERED_ANSWERS = 1024;

/**
 * Bounds one label's cardinality: every distinct label value is a separate time series in Prometheus,
 * and model names, app names and error reasons come from the outside world. The first `maxValues`
 * values seen keep their name; later ones are counted under `other`.
 */
export class LabelLimiter {
  private readonly seen = new Set<string>();
  /**
   * Answers already given, by raw value: the same few providers, models and apps come with every
   * request, and cleaning them (a Unicode regex, code-point split) was most of this class's cost.
   * An answer never changes (`seen` only grows), so caching is exact; the cap bounds memory.
   */
  private readonly answers = new Map<string, string>();
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
    const key = raw ?? '';
    const known = this.answers.get(key);
    if (known !== undefined) return known;
    const answer = this.decide(key);
    if (this.answers.size < MAX_REMEMBERED_ANSWERS) this.answers.set(key, answer);
    return answer;
  }

  private decide(raw: string): string {
    // Control characters would corrupt the exposition format's line structure.
    const cleaned = raw.replace(/[\p{Cc}]/gu, '').trim();
    if (cleaned === '') return this.emptyValue;
    const value = Array.from(cleaned).slice(0, this.maxLength).join('');
    if (this.allowed) return this.allowed.has(value) ? value : this.overflowValue;
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.options.maxValues) return this.overflowValue;
    this.seen.add(value);
    return value;
  }
}
