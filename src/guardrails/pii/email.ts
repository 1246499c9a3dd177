/**
 * E-mail addresses. Not findings: RFC 2606/6761 documentation domains (example.com, *.test, *.invalid,
 * localhost), `git@host` remotes, service-account and noreply addresses, `user:pass@host` URL credentials (the secret rules own those), and
 * retina image names like `logo@2x.png`.
 * After a `:` only a labelled address (`mailto:`, `Email:`) is one; `admin:hunter2@db.acme.io` is a login.
 */
import type { Finding } from '../finding.js';
import { eachMatch } from './context.js';
import type { PiiDetector } from './detector.js';

const EMAIL =
  /(?<![A-Za-z0-9._%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-]|\.[A-Za-z0-9])/g;

/** How far back a `scheme://` may start for `user:pass@host` to count as URL credentials. */
const USERINFO_LOOKBACK = 300;

/** The words a `:` may follow for the address after it to be a mailbox: `mailto:`, `Email:`, `E-Mail:`, `mail:`. */
const MAILBOX_LABEL = /(?<![A-Za-z0-9])(?:mailto|e-?mail|mail):$/i;
const MAILBOX_LABEL_LOOKBACK = 'e-mail:'.length + 1;

const RESERVED_DOMAIN = /(?:^|\.)(?:example\.(?:com|org|net|edu)|example|test|invalid|localhost|local)$/i;
const FILE_EXTENSION = /\.(?:png|jpe?g|gif|svg|webp|avif|ico|bmp|tiff?)$/i;
/** Machine identities: cloud service accounts and GitHub's noreply commit addresses. */
const SERVICE_DOMAIN = /(?:\.iam\.gserviceaccount\.com|\.gserviceaccount\.com|users\.noreply\.github\.com)$/i;
const NON_PERSONAL_LOCAL_PART = /^(?:git|noreply|no-reply|donotreply|do-not-reply|mailer-daemon|postmaster)$/i;

export const emailDetector: PiiDetector = {
  type: 'email',
  keywords: ['@'],
  detect(text) {
    const findings: Finding[] = [];
    eachMatch(text, EMAIL, (match) => {
      const start = match.index;
      const end = start + match[0].length;
      const at = match[0].indexOf('@');
      const local = match[0].slice(0, at);
      const domain = match[0].slice(at + 1);
      // `mailto:jane@…` and `Email:jane@…` are mailboxes; `user:pass@host`, with or without a scheme, is a credential.
      if (text[start - 1] === '/' || isUrlUserinfo(text, start)) return;
      if (text[start - 1] === ':' && !MAILBOX_LABEL.test(text.slice(Math.max(0, start - MAILBOX_LABEL_LOOKBACK), start))) return;
      if (RESERVED_DOMAIN.test(domain) || SERVICE_DOMAIN.test(domain) || FILE_EXTENSION.test(domain) || NON_PERSONAL_LOCAL_PART.test(local)) return;
      if (local.includes('..')) return;
      findings.push({ type: 'email', ruleId: 'email', start, end, confidence: 0.95 });
    });
    return findings;
  },
};

/** `scheme://user:pa~ss@host`: the part before `@` is a URL credential (the secret rules own it), not a mailbox. */
function isUrlUserinfo(text: string, start: number): boolean {
  // Only the last 300 characters: searching the whole text back for a separator made each of 2000 e-mails
  // after one long token cost a pass over the text.
  const before = text.slice(Math.max(0, start - USERINFO_LOOKBACK), start);
  const tokenStart = Math.max(before.lastIndexOf(' '), before.lastIndexOf('\n'), before.lastIndexOf('"'));
  return before.slice(tokenStart + 1).includes('://');
}
