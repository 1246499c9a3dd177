/** Every Bifrost virtual key starts with this. */
export const VIRTUAL_KEY_PREFIX = 'sk-bf-';

/** Letters, digits, `-` and `_` after the prefix: what Bifrost issues, and nothing a paste adds by mistake. */
const VIRTUAL_KEY_SHAPE = /^sk-bf-[A-Za-z0-9_-]{4,500}$/;

/**
 * Why `text` is not a virtual key, or undefined when it looks like one. The message never repeats
 * the text: a person may have pasted another secret (a provider API key) by mistake.
 */
export function virtualKeyShapeProblem(text: string): string | undefined {
  if (text === '') return 'No virtual key was entered.';
  if (!text.startsWith(VIRTUAL_KEY_PREFIX)) return `That is not a Bifrost virtual key: virtual keys start with "${VIRTUAL_KEY_PREFIX}". Check that you copied the whole key your admin gave you.`;
  if (!VIRTUAL_KEY_SHAPE.test(text)) return `That is not a complete Bifrost virtual key: after "${VIRTUAL_KEY_PREFIX}" a key has only letters, digits, "-" and "_" (at least 4). Check that you copied the whole key, without spaces.`;
  return undefined;
}

/** `sk-bf-…abcd`: enough to tell keys apart, too little to use one. */
export function maskVirtualKey(key: string): string {
  return `${VIRTUAL_KEY_PREFIX}…${key.slice(-4)}`;
}
