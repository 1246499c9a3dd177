/**
 * Counts the characters a parser looks at while `run` runs: a measure of its scanning work that does not depend
 * on how busy the machine is, so a test can tell "each character once" from "everything buffered, again, per
 * chunk" without a clock (speed itself is `npm run bench`'s business).
 *
 * It sees String.prototype.charCodeAt (one character a call), indexOf and includes (the characters up to the end
 * of what was found, or to the end of the string), and RegExp.prototype.exec (likewise; test, match, search,
 * replace and split run through it). A parser that scans with anything else shows too few: assert the count is at
 * least the characters fed, so such a change fails instead of passing unmeasured.
 */
export function charactersScanned(run: () => void): number {
  let scanned = 0;
  const exec = RegExp.prototype.exec;
  const charCodeAt = String.prototype.charCodeAt;
  const indexOf = String.prototype.indexOf;
  const includes = String.prototype.includes;
  const startAt = (length: number, position: unknown) => Math.min(length, Math.max(0, Math.trunc(Number(position ?? 0)) || 0));
  /** Characters from `start` to the end of a match at `found` `matched` long, or to the end when none was. */
  const searched = (length: number, start: number, found: number, matched: number) => (found < 0 ? length : found + matched) - start;

  RegExp.prototype.exec = function (this: RegExp, input: string) {
    const text = String(input);
    const start = this.global || this.sticky ? startAt(text.length, this.lastIndex) : 0;
    const match = exec.call(this, text);
    scanned += searched(text.length, start, match ? match.index : -1, match ? match[0].length : 0);
    return match;
  };
  String.prototype.charCodeAt = function (this: string, position?: number) {
    scanned++;
    return charCodeAt.call(this, position ?? 0);
  };
  String.prototype.indexOf = function (this: string, search: string, position?: number) {
    const start = startAt(this.length, position);
    const found = indexOf.call(this, search, position);
    scanned += searched(this.length, start, found, String(search).length);
    return found;
  };
  String.prototype.includes = function (this: string, search: string, position?: number) {
    const start = startAt(this.length, position);
    const found = indexOf.call(this, search, start);
    scanned += searched(this.length, start, found, String(search).length);
    return includes.call(this, search, position);
  };
  try {
    run();
  } finally {
    RegExp.prototype.exec = exec;
    String.prototype.charCodeAt = charCodeAt;
    String.prototype.indexOf = indexOf;
    String.prototype.includes = includes;
  }
  return scanned;
}
