/**
 * Quoting for every language the installers write. Each function returns one literal that the target
 * parser reads back as exactly `value`, so paths with spaces, quotes or non-ASCII names survive.
 * Characters no target can carry (NUL, and newlines where a format is line-based) are refused loudly
 * rather than silently mangled.
 */

/** PowerShell treats these four typographic quotes as single quotes too (language spec §2.3.5.2.1). */
const POWERSHELL_SINGLE_QUOTES = /['\u2018\u2019\u201A\u201B]/g;

/** A POSIX sh single-quoted word: bash, dash, zsh and /etc/profile.d read it back verbatim. */
export function posixShellQuote(value: string): string {
  refuseNul(value, 'a shell word');
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  // Inside '…' nothing is special except the closing quote: end the string, add an escaped quote, reopen.
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** A PowerShell verbatim ('…') string: no $ expansion, no backtick escapes; quote characters are doubled. */
export function powerShellQuote(value: string): string {
  refuseNul(value, 'a PowerShell string');
  return `'${value.replace(POWERSHELL_SINGLE_QUOTES, (quote) => quote + quote)}'`;
}

/** A fish single-quoted string: only \\ and \' are escapes inside it. */
export function fishQuote(value: string): string {
  refuseNul(value, 'a fish string');
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * One argument of a systemd Exec*= line. systemd expands %-specifiers and $VARIABLES before it splits
 * words, so both are escaped ("%%", "$$") on top of C-style double-quote escaping.
 */
export function systemdQuote(value: string): string {
  refuseNul(value, 'a systemd unit argument');
  if (/[\n\r]/.test(value)) throw new Error(`${JSON.stringify(value)} contains a line break, which a systemd unit line cannot hold.`);
  const escaped = value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('%', '%%').replaceAll('$', '$$$$');
  return /^[A-Za-z0-9_@+=:,./-]+$/.test(value) ? escaped : `"${escaped}"`;
}

/** Text for an XML element or attribute. XML 1.0 cannot carry most control characters at all, so they are refused. */
export function xmlEscape(value: string): string {
  // In /u mode a valid surrogate pair is one code point, so the range below only matches lone halves.
  // eslint-disable-next-line no-control-regex
  const invalid = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/u.exec(value);
  if (invalid) {
    throw new Error(`${JSON.stringify(value)} contains U+${invalid[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}, which XML (and so a .mobileconfig) cannot hold: remove it from the configuration.`);
  }
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
}

function refuseNul(value: string, what: string): void {
  if (value.includes('\u0000')) throw new Error(`${JSON.stringify(value)} contains a NUL character, which ${what} cannot hold.`);
}
