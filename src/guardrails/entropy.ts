/**
 * Shannon entropy in bits per character. Random tokens score high (base62 ≈ 5, hex ≈ 3.7 for 32 chars);
 * words, identifiers and placeholders score low, which is what lets generic "key = value" rules skip them.
 */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  const length = value.length;
  for (const count of counts.values()) {
    const p = count / length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
