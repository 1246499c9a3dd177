import type { ProtoMessage } from './schema-less-reader.js';

/**
 * Paths name a field by the field numbers leading to it: `1.3[2].1` is field 1 of the third occurrence of
 * field 3 inside field 1. The `[i]` index appears only where a field number occurs more than once in its
 * message (a repeated field), so a singular field reads `1.5.1`. A hex-encoded message adds `{hex}`:
 * `1{hex}.1.1` is field 1.1 of the message whose hex digits are field 1. Paths are stable: the same bytes
 * always give the same paths, and the reader and the writer compute them with this one function.
 */

export const HEX_LAYER = '{hex}';

export function joinPath(parent: string, segment: string): string {
  return parent === '' ? segment : `${parent}.${segment}`;
}

/** The path of each of `message`'s fields, in order. */
export function fieldPaths(message: ProtoMessage, parent: string): string[] {
  const counts = new Map<number, number>();
  for (const field of message.fields) counts.set(field.fieldNumber, (counts.get(field.fieldNumber) ?? 0) + 1);
  const seen = new Map<number, number>();
  return message.fields.map((field) => {
    const index = seen.get(field.fieldNumber) ?? 0;
    seen.set(field.fieldNumber, index + 1);
    const repeated = (counts.get(field.fieldNumber) ?? 0) > 1;
    return joinPath(parent, repeated ? `${field.fieldNumber}[${index}]` : String(field.fieldNumber));
  });
}

/** Where the fields of a field's nested message start: the field itself, or its hex layer. */
export function nestedParent(path: string, kind: 'message' | 'hex-message'): string {
  return kind === 'hex-message' ? `${path}${HEX_LAYER}` : path;
}
