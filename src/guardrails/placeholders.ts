/**
 * Values people paste in documentation, templates and tutorials that look like credentials but are not:
 * `sk-xxxx`, `${OPENAI_API_KEY}`, `<your-key>`, `YOUR_API_KEY`, AWS's `AKIAIOSFODNN7EXAMPLE`, runs of
 * one character. Firing on these trains people to ignore the guardrail, so every secret rule consults this.
 */

/** Template and variable syntaxes: the value names a secret kept elsewhere. */
const TEMPLATE_REFERENCE = /\$\{[^}]*\}|\$\([^)]*\)|\{\{[^}]*\}\}|^\$[A-Za-z_][A-Za-z0-9_]*$|%[A-Za-z_][A-Za-z0-9_]*%|<[^<>]{1,60}>|\[[A-Za-z _-]{3,40}\]/;

/** Words that only appear in made-up values. Matched case-insensitively anywhere in the value. */
const PLACEHOLDER_WORDS =
  /example|sample|dummy|placeholder|redacted|your[_-]?(?:own[_-]?)?(?:api[_-]?)?(?:key|token|secret|password|pass)|insert[_-]?(?:key|token|here)|replace[_-]?me|changeme|fake[_-]?(?:key|token|secret)|not[_-]?a[_-]?real|xxxx|\*\*\*\*|\.\.\.|…|0{8}|1234567|abcdefgh/i;

const MIN_DISTINCT_CHARS = 5;
const MAX_SAME_CHAR_RUN = 6;

export interface PlaceholderOptions {
  /** Some real formats contain long fixed runs (Twitter bearer tokens start with 22 `A`s). */
  allowRepeats?: boolean;
}

export function looksLikePlaceholder(value: string, options: PlaceholderOptions = {}): boolean {
  if (TEMPLATE_REFERENCE.test(value)) return true;
  if (PLACEHOLDER_WORDS.test(value)) return true;
  if (options.allowRepeats) return false;
  return hasLongRun(value, MAX_SAME_CHAR_RUN) || (value.length >= 12 && distinctChars(value) < MIN_DISTINCT_CHARS);
}

function hasLongRun(value: string, limit: number): boolean {
  let run = 1;
  for (let i = 1; i < value.length; i++) {
    run = value[i] === value[i - 1] ? run + 1 : 1;
    if (run >= limit) return true;
  }
  return false;
}

function distinctChars(value: string): number {
  return new Set(value).size;
}
