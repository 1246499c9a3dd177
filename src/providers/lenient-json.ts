/**
 * JSON as Python reads it. `json.loads` and pydantic's `from_json` (the MCP Python SDK's parser) also
 * accept the bare constants `NaN`, `Infinity` and `-Infinity`, which `JSON.parse` refuses, so a body Edge
 * takes for "not JSON" can still be a message to a Python server. This reads such a body with the
 * constants as `null`, to learn what the server would see; it never produces a body to forward.
 */
const NON_STANDARD_CONSTANTS = ['-Infinity', 'Infinity', 'NaN'] as const;

/** The value a Python JSON parser would read, or undefined when it is not JSON even to Python. */
export function parsePythonJson(text: string): unknown {
  let standard = '';
  let copiedUpTo = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const character = text[i];
    if (inString) {
      if (character === '\\') i++;
      else if (character === '"') inString = false;
      continue;
    }
    if (character === '"') {
      inString = true;
      continue;
    }
    const constant = NON_STANDARD_CONSTANTS.find((name) => text.startsWith(name, i));
    if (constant === undefined) continue;
    standard += `${text.slice(copiedUpTo, i)}null`;
    i += constant.length - 1;
    copiedUpTo = i + 1;
  }
  if (copiedUpTo === 0) return undefined;
  try {
    return JSON.parse(standard + text.slice(copiedUpTo)) as unknown;
  } catch {
    return undefined;
  }
}
