/** Looking at the words just before a match: the cheapest way to tell a phone number from an order number. */

/** True when `words` matches within `window` characters before `start`. */
export function contextBefore(text: string, start: number, words: RegExp, window = 40): boolean {
  return words.test(text.slice(Math.max(0, start - window), start));
}

/** True when `words` matches within `window` characters on either side of the span. */
export function contextAround(text: string, start: number, end: number, words: RegExp, window = 60): boolean {
  return words.test(text.slice(Math.max(0, start - window), start)) || words.test(text.slice(end, end + window));
}

/** Runs a global regex and hands each match to `accept`, with a cap so hostile input stays linear. */
export function eachMatch(text: string, pattern: RegExp, accept: (match: RegExpExecArray) => void, limit = 2000): void {
  pattern.lastIndex = 0;
  let count = 0;
  for (let match = pattern.exec(text); match !== null && count < limit; match = pattern.exec(text)) {
    if (match[0].length === 0) {
      pattern.lastIndex++;
      continue;
    }
    count++;
    accept(match);
  }
  pattern.lastIndex = 0;
}

export function digitsOf(value: string): string {
  return value.replace(/\D/g, '');
}
