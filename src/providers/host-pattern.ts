/**
 * Host patterns of the AI-surface catalog, compiled once into matchers.
 *
 * A pattern is an exact host (`api.openai.com`) or a host with `*` labels:
 * - a leading `*` matches one or more labels (`*.githubcopilot.com` matches `a.githubcopilot.com` and
 *   `a.b.githubcopilot.com`, not `githubcopilot.com` itself), the way proxy ignore lists read it;
 * - a `*` anywhere else matches exactly one label (`api.*.githubcopilot.com` matches
 *   `api.business.githubcopilot.com`, not `api.githubcopilot.com`).
 * Partial-label wildcards (`api-*.example.com`) and bare suffixes (`*.com`) are refused: the list decides
 * which traffic is decrypted, so a typo must fail loudly rather than widen interception.
 */

export interface CompiledHostPattern {
  /** The pattern as written, lower-cased and without a trailing dot. */
  pattern: string;
  wildcard: boolean;
  /** Literal labels in the pattern; more literal labels = more specific, wins over a broader wildcard. */
  literalLabels: number;
  matches(host: string): boolean;
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/** Lower-case, drop the port and a trailing dot, so `API.OpenAI.com.:443` and `api.openai.com` compare equal. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    // IPv6 literal, possibly with a port: [::1]:8443
    const end = h.indexOf(']');
    h = end === -1 ? h.slice(1) : h.slice(1, end);
  } else if (h.indexOf(':') !== -1 && h.indexOf(':') === h.lastIndexOf(':')) {
    h = h.slice(0, h.indexOf(':'));
  }
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

export function compileHostPattern(raw: string): CompiledHostPattern {
  const pattern = normalizeHost(raw);
  const labels = pattern.split('.');
  const bad = (why: string): never => {
    throw new Error(`Invalid host pattern "${raw}": ${why}.`);
  };
  if (pattern === '') bad('it is empty');
  // normalizeHost keeps what comes before a ':' (a port, for request hosts): "https://api.openai.com"
  // would become the pattern "https" and silently match nothing, leaving that provider undecrypted.
  if (/[/:@?#]/.test(raw)) bad('write the host name alone, like api.openai.com: no scheme, port, path or user');
  labels.forEach((label) => {
    if (label !== '*' && !LABEL.test(label)) {
      bad(label.includes('*') ? 'a wildcard must be a whole label, like *.example.com' : `"${label}" is not a valid DNS label`);
    }
  });
  const literalLabels = labels.filter((l) => l !== '*').length;
  const wildcard = literalLabels !== labels.length;
  if (wildcard && labels[labels.length - 1] === '*') bad('the top-level domain cannot be a wildcard');
  if (wildcard && trailingLiteralCount(labels) < 2) bad('a wildcard needs at least two fixed labels after it, like *.example.com');

  if (!wildcard) return { pattern, wildcard, literalLabels, matches: (host) => host === pattern };

  const leadingAny = labels[0] === '*';
  const fixedTail = leadingAny ? labels.slice(1) : labels;
  const matches = (host: string): boolean => {
    const hostLabels = host.split('.');
    if (leadingAny) {
      // One or more extra labels in front, then the rest matches label for label.
      if (hostLabels.length <= fixedTail.length) return false;
      return labelsMatch(hostLabels.slice(hostLabels.length - fixedTail.length), fixedTail);
    }
    return hostLabels.length === labels.length && labelsMatch(hostLabels, labels);
  };
  return { pattern, wildcard, literalLabels, matches };
}

function labelsMatch(hostLabels: string[], patternLabels: string[]): boolean {
  return patternLabels.every((p, i) => p === '*' ? hostLabels[i] !== '' : p === hostLabels[i]);
}

function trailingLiteralCount(labels: string[]): number {
  let count = 0;
  for (let i = labels.length - 1; i >= 0 && labels[i] !== '*'; i--) count++;
  return count;
}
