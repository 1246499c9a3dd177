import { fieldPaths, nestedParent } from './field-paths.js';
import type { ProtoMessage } from './schema-less-reader.js';

export interface TextField {
  /** See field-paths.ts: `1.3[2].1`. */
  path: string;
  text: string;
}

/** Every text field of the message and the messages nested in it, in byte order, with its path. */
export function listTextFields(message: ProtoMessage, parent = ''): TextField[] {
  const out: TextField[] = [];
  collect(message, parent, out);
  return out;
}

// Recursion is bounded by the reader's depth limit.
function collect(message: ProtoMessage, parent: string, out: TextField[]): void {
  const paths = fieldPaths(message, parent);
  message.fields.forEach((field, i) => {
    const path = paths[i]!;
    const value = field.value;
    if (value.kind === 'text') out.push({ path, text: value.text });
    else if (value.kind === 'message' || value.kind === 'hex-message') collect(value.message, nestedParent(path, value.kind), out);
  });
}
