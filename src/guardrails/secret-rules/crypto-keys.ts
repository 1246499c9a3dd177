/** Key material in standard encodings: PEM / OpenSSH / PGP / PuTTY private keys, age keys, JWTs, kubeconfigs. */
import { defineRule, START, type SecretRule } from './rule.js';

/**
 * Body of a PEM block: optional RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) then base64 lines. The body class
 * excludes `-`, so the greedy run stops exactly at `-----END` and a BEGIN line without an END fails in linear time.
 */
const PEM_BODY = '(?:[A-Za-z][A-Za-z-]{0,30}: [^\\n]{1,120}\\r?\\n){0,4}[A-Za-z0-9+/=\\s\\\\]{40,20000}';

/** Random base64 of 40+ characters uses far more distinct characters than this; stubs (`AAAA…`, `MIIBMIIB…`) fewer. */
const MIN_DISTINCT_KEY_CHARS = 16;

/**
 * A real key body has plenty of varied base64, not a one-line stub or a repeated filler. Key-block rules skip
 * the generic placeholder check (real keys hold runs of `A`), so this is where documentation stubs are told apart.
 */
function hasKeyMaterial(block: string): boolean {
  const body = block.replace(/-----[^-]+-----/g, '').replace(/\\n|\s/g, '');
  return body.length >= 40 && new Set(body).size >= MIN_DISTINCT_KEY_CHARS;
}

/** Options every private-key rule shares (also the key inside a Google service-account file). */
export const KEY_BLOCK = { validate: hasKeyMaterial, skipPlaceholderCheck: true } as const;

export const cryptoKeyRules: SecretRule[] = [
  defineRule(
    'pem-private-key',
    'PEM private key block (PKCS#1, PKCS#8, EC, DSA, encrypted)',
    ['private key-----'],
    `-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY)-----${PEM_BODY}-----END \\1-----`,
    { confidence: 0.97, ...KEY_BLOCK },
  ),
  defineRule(
    'openssh-private-key',
    'OpenSSH private key block',
    ['begin openssh private key'],
    `-----BEGIN OPENSSH PRIVATE KEY-----${PEM_BODY}-----END OPENSSH PRIVATE KEY-----`,
    { confidence: 0.99, ...KEY_BLOCK },
  ),
  defineRule(
    'pgp-private-key-block',
    'PGP / GPG private key block',
    ['begin pgp private key block'],
    `-----BEGIN PGP PRIVATE KEY BLOCK-----${PEM_BODY}-----END PGP PRIVATE KEY BLOCK-----`,
    { confidence: 0.99, ...KEY_BLOCK },
  ),
  defineRule(
    'private-key-truncated',
    'Private key block cut off before its END line (the first lines of a key are key material too)',
    ['private key-----', 'private key block-----'],
    // Each line must end in a newline, so a line can be split only one way: linear time. A whole block matches
    // too, but the rules above are more confident and win the overlap. The match stops after 41 lines, so in a
    // streamed answer a key longer than the scanner's window is still reported (its END arrives too late).
    `-----BEGIN (?:RSA |EC |DSA |ENCRYPTED |OPENSSH |PGP )?PRIVATE KEY(?: BLOCK)?-----(?:\\r?\\n[A-Za-z][A-Za-z-]{0,30}: [^\\n]{1,120}){0,4}(?:\\r?\\n)+(?:[A-Za-z0-9+/=]{40,80}\\r?\\n){2,40}[A-Za-z0-9+/=]{40,80}`,
    { confidence: 0.9, ...KEY_BLOCK },
  ),
  defineRule(
    'putty-private-key',
    'PuTTY private key file (.ppk)',
    ['putty-user-key-file'],
    'PuTTY-User-Key-File-\\d: [\\w-]{3,40}\\r?\\nEncryption: [\\w-]{3,40}\\r?\\n(?:[A-Za-z-]{3,40}: [^\\n]{0,200}\\r?\\n){1,6}[A-Za-z0-9+/=\\r\\n]{40,8000}Private-Lines: \\d{1,3}\\r?\\n[A-Za-z0-9+/=\\r\\n]{40,8000}',
    { confidence: 0.97, ...KEY_BLOCK },
  ),
  defineRule(
    'age-secret-key',
    'age encryption secret key',
    ['age-secret-key-1'],
    `${START}AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}(?![A-Za-z0-9])`,
    { confidence: 0.99 },
  ),
  defineRule(
    'jwt',
    'JSON Web Token (signed: a bearer credential until it expires)',
    ['eyj'],
    // The start guard excludes `-` too: a token cannot begin inside a base64url run, so each run is scanned once
    // (with only START, `-eyJ` repeated restarted a 2000-character scan every 4 characters).
    `(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,2000}\\.eyJ[A-Za-z0-9_-]{8,8000}\\.[A-Za-z0-9_-]{16,2000}(?![A-Za-z0-9_-])`,
    { confidence: 0.85, validate: isJwtHeader },
  ),
  defineRule(
    'kubeconfig-client-key-data',
    'Kubernetes kubeconfig client key data (base64 private key)',
    ['client-key-data'],
    'client-key-data:\\s{0,4}["\']?(?<secret>[A-Za-z0-9+/]{100,12000}={0,2})',
    { confidence: 0.97, ...KEY_BLOCK },
  ),
  defineRule(
    'kubernetes-service-account-token',
    'Kubernetes bootstrap token',
    ['kubeadm', 'bootstrap-token', 'bootstrap_token', '--token'],
    `${START}[a-z0-9]{6}\\.[a-z0-9]{16}(?![A-Za-z0-9.])`,
    { confidence: 0.75, minEntropy: 3.5 },
  ),
];

/** A JWT's first segment decodes to a JSON header naming its algorithm; random `eyJ...` strings do not. */
function isJwtHeader(token: string): boolean {
  const header = token.slice(0, token.indexOf('.'));
  try {
    const json = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as unknown;
    return typeof json === 'object' && json !== null && 'alg' in json;
  } catch {
    return false;
  }
}
