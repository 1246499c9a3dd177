/**
 * Shape of a credential rule and the few builders every rule table uses, so that boundaries,
 * assignment syntax and flags are written once instead of 120 times.
 */

export interface SecretRule {
  /** Stable, kebab-case id shown in findings, block messages and policy `disabledRules`. */
  id: string;
  description: string;
  /**
   * Lowercase literals, one of which must occur in the lowercased text before the regex runs.
   * This prefilter is what keeps 100+ rules cheap (DESIGN: ≈16× on 220 rules). Empty = always run.
   * Every text the regex matches must contain one of them: a literal piece the regex requires. A `_` or `-`
   * between two letters or digits stands for either or none (`session_token` also lists `session-token` and
   * `sessiontoken`), matching the `[_-]?` the regexes write between words.
   */
  keywords: readonly string[];
  /**
   * Global regex with indices (`gd`). When it has a named group `secret`, only that group is the finding
   * (so `password=` stays readable after redaction); otherwise the whole match is.
   */
  pattern: RegExp;
  confidence: number;
  /** Minimum Shannon entropy (bits/char) of the secret span; filters words and identifiers. */
  minEntropy?: number;
  /** Extra structural check on the secret span (checksum, decodes as JSON, not a code reference ...). */
  validate?: (secret: string) => boolean;
  /** Skip the repeated-character placeholder check for formats with fixed runs. */
  allowRepeats?: boolean;
  /**
   * Skip the placeholder check altogether. For private-key blocks: their long random base64 holds `xxxx` or a
   * run of `A` by chance (every unencrypted OpenSSH key starts with one), so the rule's own `validate`
   * decides what is a stub instead.
   */
  skipPlaceholderCheck?: boolean;
}

export interface RuleOptions {
  confidence?: number;
  minEntropy?: number;
  validate?: (secret: string) => boolean;
  allowRepeats?: boolean;
  skipPlaceholderCheck?: boolean;
  /** Extra regex flags; `g` and `d` are always added. */
  flags?: string;
}

/** No letter or digit right before a token: stops matches starting inside a longer word. */
export const START = '(?<![A-Za-z0-9_])';
/** No token character right after: stops a fixed-length match inside a longer token. */
export const END = '(?![A-Za-z0-9_])';
/** End guard for base64url-style tokens that may contain `-`. */
export const END_DASH = '(?![A-Za-z0-9_-])';

const DEFAULT_CONFIDENCE = 0.9;

export function defineRule(
  id: string,
  description: string,
  keywords: readonly string[],
  source: string,
  options: RuleOptions = {},
): SecretRule {
  const flags = `gd${options.flags ?? ''}`;
  return {
    id,
    description,
    keywords: [...new Set(keywords.flatMap((k) => separatorSpellings(k.toLowerCase())))],
    pattern: new RegExp(source, flags),
    confidence: options.confidence ?? DEFAULT_CONFIDENCE,
    ...(options.minEntropy !== undefined ? { minEntropy: options.minEntropy } : {}),
    ...(options.validate ? { validate: options.validate } : {}),
    ...(options.allowRepeats ? { allowRepeats: true } : {}),
    ...(options.skipPlaceholderCheck ? { skipPlaceholderCheck: true } : {}),
  };
}

/** `session_token` → `session_token`, `session-token`, `sessiontoken` (every internal `_`/`-`, each way). */
export function separatorSpellings(keyword: string): string[] {
  const parts = keyword.split(/(?<=[a-z0-9])[_-](?=[a-z0-9])/);
  return parts.slice(1).reduce(
    (spellings, part) => spellings.flatMap((head) => ['_', '-', ''].map((separator) => head + separator + part)),
    [parts[0]!],
  );
}

/**
 * A token with a vendor prefix (`ghp_`, `xoxb-`, `glpat-`): the prefix alone makes it specific, so the
 * keyword is the prefix and the regex only checks the body's alphabet and length.
 */
export function prefixedRule(
  id: string,
  description: string,
  prefix: string,
  body: string,
  options: RuleOptions & { keywords?: readonly string[]; end?: string } = {},
): SecretRule {
  const keywords = options.keywords ?? [prefix.replace(/\\/g, '')];
  return defineRule(id, description, keywords, `${START}${prefix}${body}${options.end ?? END_DASH}`, {
    confidence: 0.95,
    ...options,
  });
}

/**
 * Assignment separators seen in env files, YAML, JSON, shell, code and HTTP headers:
 * `KEY=v`, `key: v`, `"key": "v"`, `key => v`, `key := v`.
 */
const ASSIGN = `["']?\\s{0,4}(?:=|:|=>|:=)\\s{0,4}["'\`]?`;

/**
 * A value without a distinctive prefix, recognised by the name it is assigned to
 * (`DATADOG_API_KEY=<32 hex>`). `keyName` is a regex source matched case-insensitively;
 * up to 24 identifier characters may sit between it and the separator (`_API_KEY`, `.token`).
 */
export function keyedRule(
  id: string,
  description: string,
  keywords: readonly string[],
  keyName: string,
  value: string,
  options: RuleOptions = {},
): SecretRule {
  const source = `(?:${keyName})[\\w.-]{0,24}?${ASSIGN}(?<secret>${value})(?![A-Za-z0-9_+/=-])`;
  return defineRule(id, description, keywords, source, { confidence: 0.8, ...options, flags: `i${options.flags ?? ''}` });
}

/** A UUID, the value shape of many older vendor API keys (Heroku, Snyk, Postmark ...). */
export const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
