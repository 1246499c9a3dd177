/**
 * Reads what `reg.exe query` prints. Its layout is fixed and not translated (only its error messages
 * are): a blank line, the key's full name, then one line per value indented by four spaces —
 * name, type and data separated by four spaces — and a blank line:
 *
 *   \r\n
 *   HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Bifrost\Edge\r\n
 *       Config    REG_SZ    {"gateway":{"url":"https://bifrost.example.com"}}\r\n
 *   \r\n
 *
 * Subkeys are listed as their full names on lines of their own.
 */

export interface RegistryValue {
  name: string;
  /** REG_SZ, REG_EXPAND_SZ, REG_DWORD, … as printed. */
  type: string;
  /** The data exactly as printed (REG_EXPAND_SZ unexpanded); data spanning lines keeps its line breaks. */
  data: string;
}

const VALUE_LINE = /^ {4}(.+?) {4}(REG_[A-Z0-9_]+)(?: {4}(.*))?$/;

/** The value called `name` (case-insensitive, as the registry compares names), if the output lists it. */
export function findRegistryValue(output: string, name: string): RegistryValue | undefined {
  const lines = output.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const match = VALUE_LINE.exec(lines[index]!);
    if (!match || match[1]!.toLowerCase() !== name.toLowerCase()) continue;
    // A REG_SZ may hold line breaks (pretty-printed JSON written by a script): its data continues
    // until the blank line that ends the listing or the next value's line.
    const data = [match[3] ?? ''];
    for (let next = index + 1; next < lines.length && lines[next] !== '' && !VALUE_LINE.test(lines[next]!); next += 1) data.push(lines[next]!);
    return { name: match[1]!, type: match[2]!, data: data.join('\n') };
  }
  return undefined;
}

/** Whether a listing of a key shows `subkey` (a full name such as HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Bifrost). */
export function listsSubkey(output: string, subkey: string): boolean {
  const wanted = subkey.toLowerCase();
  return output.split(/\r?\n/).some((line) => line.trim().toLowerCase() === wanted);
}
