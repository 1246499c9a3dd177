export interface SeriesCapOptions<L extends string> {
  /** Distinct label combinations kept before new ones are folded. */
  maxSeries: number;
  /** The labels a new combination loses (set to `overflowValue`) once the cap is reached. */
  foldable: readonly L[];
  overflowValue?: string;
}

/**
 * Bounds one metric's number of series. LabelLimiter bounds each label, but the series are their
 * combinations: 100 models × 50 apps × providers × decisions is a quarter of a million, and model and
 * app come from any local process (request body, User-Agent). Once `maxSeries` combinations exist, a
 * new one keeps its fixed, small labels (provider, decision) and counts under "other" for the free-form
 * ones, so the total stays below the cap plus the product of the small labels.
 */
export class SeriesCap<L extends string> {
  private readonly seen = new Set<string>();
  private readonly overflowValue: string;

  constructor(private readonly options: SeriesCapOptions<L>) {
    this.overflowValue = options.overflowValue ?? 'other';
  }

  /** The labels to count under: as given for a known or room-left combination, else folded. */
  labels(values: Record<L, string>): Record<L, string> {
    // LabelLimiter strips control characters from every value, so NUL cannot occur inside one.
    const key = Object.keys(values).sort().map((name) => values[name as L]).join('\u0000');
    if (this.seen.has(key)) return values;
    if (this.seen.size < this.options.maxSeries) {
      this.seen.add(key);
      return values;
    }
    const folded = { ...values };
    for (const name of this.options.foldable) folded[name] = this.overflowValue;
    return folded;
  }
}
