/**
 * Judging the value in `password = <value>` or `api_key: <value>`: config files and code assign real secrets
 * and references to secrets with the same syntax, so the value itself must look like a secret.
 */
import { looksLikePlaceholder } from '../placeholders.js';

/** Values that name a type, a default or a policy rather than being a password. */
const NON_SECRET_WORDS = new Set([
  'password', 'passwd', 'passwort', 'pass', 'pwd', 'secret', 'token', 'string', 'str', 'null', 'none', 'nil',
  'true', 'false', 'undefined', 'required', 'optional', 'hidden', 'text', 'empty', 'redacted', 'masked',
  'changeme', 'change_me', 'letmein', 'default', 'prompt', 'env', 'environment', 'secure', 'sensitive',
  'boolean', 'number', 'integer', 'object', 'any', 'unknown', 'bytes', 'varchar', 'char', 'sha256', 'bcrypt',
  'argon2', 'plaintext', 'password123', 'mypassword', 'yourpassword', 'secretpassword', 'hunter2', 'admin',
]);

/**
 * Expressions that fetch a secret instead of containing one: `process.env.DB_PASSWORD`, `os.getenv("X")`,
 * `config.db.password`, `self.password`, `getPassword()`, `args[0]`, `$DB_PASS`, `@Value(...)`, and file paths
 * (`pwd: /home/me`).
 */
const CODE_REFERENCE = /[()[\]{}]|^\$|^@|^&|^\*|^%\(|^!|^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|^(?:\/|~\/|\.\.?\/)/;

/** Masked values (`********`, `•••••`) are already redacted. */
const MASKED = /^[*•●x#?]+$/i;

export function isPlausibleSecretValue(value: string): boolean {
  if (NON_SECRET_WORDS.has(value.toLowerCase())) return false;
  if (MASKED.test(value)) return false;
  if (CODE_REFERENCE.test(value) || isDottedReference(value)) return false;
  return !looksLikePlaceholder(value);
}

/** One segment written the way code names things: `password`, `dbPassword`, `DB_PASSWORD`, `env`, `v2`. */
const NAME_SEGMENT = /^(?:\$?_?[a-z][a-z0-9_]*|[a-z]+(?:[A-Z][a-z]+)+\d*|[A-Z][a-z]+(?:[A-Z][a-z]+)*\d*|[A-Z][A-Z0-9_]*)$/;

/** `self.password`, `process.env.DB_PASS`, `settings.DATABASES` — but not `Xp3MER.rW9BBRm1`. */
function isDottedReference(value: string): boolean {
  const segments = value.split('.');
  return segments.length >= 2 && segments.every((segment) => NAME_SEGMENT.test(segment));
}

/** Camel-case or snake-case words (`getTokenFromHeader`, `refresh_token_value`) are identifiers. */
const IDENTIFIER = /^(?:[a-z]+(?:[A-Z][a-z]*)*|[A-Z][a-z]+(?:[A-Z][a-z]*)*|[a-z]+(?:[_-][a-z]+)*|[A-Z]+(?:[_-][A-Z]+)*)$/;

/** Generic "token near a key word" values must look machine-made: letters and digits, and not an identifier. */
export function isPlausibleGenericToken(value: string): boolean {
  if (!/\d/.test(value) || !/[A-Za-z]/.test(value)) return false;
  if (IDENTIFIER.test(value)) return false;
  if (/^\d+(?:\.\d+)*$/.test(value)) return false;
  return isPlausibleSecretValue(value);
}

/** Unquoted passwords assigned with `: ` are often type annotations (`password: string`): demand a digit or symbol. */
export function isPlausiblePassword(value: string): boolean {
  if (!isPlausibleSecretValue(value)) return false;
  if (IDENTIFIER.test(value) && value.length < 10) return false;
  return true;
}
