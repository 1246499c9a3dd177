/**
 * Locates the first JSON syntax error in a text. JSON.parse's own message varies between Node releases, often
 * gives no position, and quotes a slice of the body (which may hold a secret); this gives a stable position
 * and a description that never echoes body text beyond one punctuation character.
 */

export interface JsonSyntaxProblem {
  /** 0-based character offset. */
  offset: number;
  /** 1-based line and column. */
  line: number;
  column: number;
  problem: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

export function findJsonSyntaxError(text: string): JsonSyntaxProblem | undefined {
  const stack: Array<'object' | 'array'> = [];
  let i = 0;
  let state: 'value' | 'key' | 'after-value' = 'value';
  const fail = (offset: number, problem: string): JsonSyntaxProblem => ({ offset, ...lineAndColumn(text, offset), problem });
  const skipWhitespace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  /** Scans a string starting at its opening quote; returns an error or moves `i` past the closing quote. */
  const scanString = (): JsonSyntaxProblem | undefined => {
    const start = i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return undefined;
      }
      if (c.charCodeAt(0) < 0x20) return fail(i, 'a control character (such as a raw newline) inside a string must be escaped');
      if (c === '\\') {
        const next = text[i + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return fail(i, 'invalid \\u escape: expected four hex digits');
          i += 6;
          continue;
        }
        if (next === undefined || !ESCAPES.has(next)) return fail(i, 'invalid escape sequence in a string');
        i += 2;
        continue;
      }
      i++;
    }
    return fail(start, 'unterminated string');
  };

  for (;;) {
    skipWhitespace();
    if (state === 'value') {
      if (i >= text.length) return fail(i, 'unexpected end of input: expected a value');
      const c = text[i]!;
      if (c === '{' || c === '[') {
        stack.push(c === '{' ? 'object' : 'array');
        i++;
        skipWhitespace();
        if (text[i] === (c === '{' ? '}' : ']')) {
          stack.pop();
          i++;
          state = 'after-value';
        } else {
          state = c === '{' ? 'key' : 'value';
        }
        continue;
      }
      if (c === '"') {
        const problem = scanString();
        if (problem) return problem;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        if (!NUMBER.test(text)) return fail(i, 'invalid number');
        i = NUMBER.lastIndex;
      } else {
        const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
        if (!literal) return fail(i, `unexpected ${describeCharacter(c)}: expected a value (object, array, string, number, true, false or null)`);
        i += literal.length;
      }
      state = 'after-value';
    } else if (state === 'key') {
      if (i >= text.length) return fail(i, 'unexpected end of input: expected a property name');
      if (text[i] !== '"') return fail(i, `unexpected ${describeCharacter(text[i]!)}: expected a double-quoted property name`);
      const problem = scanString();
      if (problem) return problem;
      skipWhitespace();
      if (text[i] !== ':') return fail(i, i >= text.length ? 'unexpected end of input: expected \':\'' : `unexpected ${describeCharacter(text[i]!)}: expected ':' after the property name`);
      i++;
      state = 'value';
    } else {
      const container = stack[stack.length - 1];
      if (container === undefined) return i < text.length ? fail(i, 'unexpected data after the end of the JSON value') : undefined;
      const close = container === 'object' ? '}' : ']';
      if (i >= text.length) return fail(i, `unexpected end of input: ${stack.length} unclosed ${stack.length === 1 ? container : 'objects or arrays'}`);
      const c = text[i]!;
      if (c === ',') {
        i++;
        state = container === 'object' ? 'key' : 'value';
      } else if (c === close) {
        stack.pop();
        i++;
      } else {
        return fail(i, `unexpected ${describeCharacter(c)}: expected ',' or '${close}' after ${container === 'object' ? 'a property value' : 'an array element'}`);
      }
    }
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Punctuation is shown; letters and digits are not, so a fragment of a secret never lands in a message. */
function describeCharacter(c: string): string {
  if (/^[!-/:-@[-`{-~]$/.test(c)) return `'${c}'`;
  if (/^[\p{L}\p{N}]$/u.test(c)) return 'text';
  return `character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}
