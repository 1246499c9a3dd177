/**
 * JSON an admin wrote by hand or with Windows tools. Windows PowerShell 5.1 (`Set-Content` /
 * `Out-File -Encoding UTF8`) and Notepad start UTF-8 files with a byte-order mark, which JSON.parse
 * refuses as "Unexpected token", naming a character nobody can see; the mark carries no content.
 */
export function parseJsonText(text: string): unknown {
  return JSON.parse(withoutByteOrderMark(text));
}

/** `text` without the one byte-order mark it may start with. */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
