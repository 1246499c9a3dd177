import type { Finding, PiiType } from '../finding.js';

/** One personal-data detector: pure, over a whole string, reporting only validated matches. */
export interface PiiDetector {
  type: PiiType;
  /** Lowercase literals one of which must occur for the detector to run (empty: always run). */
  keywords: readonly string[];
  detect(text: string): Finding[];
}
