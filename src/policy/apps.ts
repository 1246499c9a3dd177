import type { AppCatalogEntry, AppStatus, PolicyBundle, RoutingMode } from '../control/protocol/policy-bundle.js';
import { edgeError, type EdgeError } from '../edge-error.js';
import { GITHUB_COPILOT_HOSTS } from '../providers/catalog.js';
import { compileHostPattern, normalizeHost, type CompiledHostPattern } from '../providers/host-pattern.js';

/**
 * App governance: which app sent a request, and what the policy's app catalog says about it.
 *
 * Attribution uses every signal there is: the process name (where the OS tells Edge who opened the
 * connection), the User-Agent, and the host and path. Catalog entries are the admin's word; built-in
 * recognisers name well-known AI clients so an admin can list them by id without writing patterns.
 *
 * When several catalog entries match, the most specific signal wins (process; then an entry whose id is
 * the built-in recogniser's; then a User-Agent pattern; then the host), and among equally specific
 * matches the most restrictive status (denied, then pending, then approved).
 * A browser is the vehicle, not the app: a User-Agent match on a browser ranks below a host match, so
 * "ChatGPT web: denied" by host is not undone by "Chrome: approved" by User-Agent.
 */

export interface AppSignals {
  host: string;
  path?: string;
  userAgent?: string;
  /** Executable name of the process that opened the connection, when the OS lets Edge see it. */
  process?: string;
}

export type AppMatchSignal = 'process' | 'user_agent' | 'host' | 'id';

export interface AppIdentity {
  /** Catalog entry id when listed, else the built-in recogniser's id, else `ua:<product>` or `unknown`. */
  id: string;
  name: string;
  /** Catalog status; apps no entry matches are `pending` (seen, not yet reviewed). */
  status: AppStatus;
  /** True when a catalog entry matched. */
  listed: boolean;
  matchedBy?: AppMatchSignal;
  /** The catalog entry's routing override, if any. */
  routing?: RoutingMode;
  /** Built-in recogniser that named the client (`cursor`, `claude-code`, `chrome`, ...). */
  recognizedAs?: string;
  browser: boolean;
  host: string;
}

interface Recognizer {
  id: string;
  name: string;
  userAgent?: RegExp;
  hosts?: string[];
  /** A host and path prefix that only this client calls (Codex signed in with ChatGPT uses chatgpt.com's Codex API). */
  routes?: Array<{ host: string; pathPrefix: string }>;
  processes?: string[];
  browser?: true;
}

/** Well-known AI clients. Order matters: Electron apps carry `Chrome/` in their User-Agent too. */
export const BUILT_IN_RECOGNIZERS: readonly Recognizer[] = [
  // Claude Code's native binary is also called `claude`, like Claude desktop's: its User-Agent tells them apart.
  { id: 'claude-code', name: 'Claude Code', userAgent: /claude-cli|claude-code/i },
  { id: 'codex-cli', name: 'Codex CLI', userAgent: /codex_cli_rs|codex-cli|^codex\b/i, processes: ['codex'], routes: [{ host: 'chatgpt.com', pathPrefix: '/backend-api/codex/' }] },
  { id: 'cursor', name: 'Cursor', userAgent: /\bCursor\//i, hosts: ['api2.cursor.sh'], processes: ['cursor'] },
  { id: 'github-copilot', name: 'GitHub Copilot', userAgent: /GitHubCopilot|copilot/i, hosts: [...GITHUB_COPILOT_HOSTS] },
  { id: 'chatgpt-desktop', name: 'ChatGPT desktop', userAgent: /ChatGPT\//i, processes: ['chatgpt'] },
  { id: 'claude-desktop', name: 'Claude desktop', userAgent: /\bClaude\/\d/, processes: ['claude'] },
  // Scripts and tools built on an SDK: the SDK is all the User-Agent tells.
  { id: 'openai-sdk', name: 'OpenAI SDK client', userAgent: /^OpenAI\//i },
  { id: 'anthropic-sdk', name: 'Anthropic SDK client', userAgent: /^Anthropic\//i },
  { id: 'google-genai-sdk', name: 'Google GenAI SDK client', userAgent: /google-genai-sdk|genai-js|google-api-nodejs-client/i },
  { id: 'curl', name: 'curl', userAgent: /^curl\//i },
  { id: 'python-script', name: 'Python script', userAgent: /^(python-requests|python-httpx|aiohttp|Python-urllib)\//i },
  { id: 'edge-browser', name: 'Microsoft Edge', userAgent: /\bEdg\//, processes: ['msedge', 'microsoft edge'], browser: true },
  { id: 'firefox', name: 'Firefox', userAgent: /\bFirefox\//, processes: ['firefox'], browser: true },
  { id: 'chrome', name: 'Google Chrome', userAgent: /\b(Chrome|Chromium)\//, processes: ['chrome', 'google chrome', 'chromium', 'brave', 'arc'], browser: true },
  { id: 'safari', name: 'Safari', userAgent: /\bSafari\//, processes: ['safari'], browser: true },
];

interface CompiledEntry {
  entry: AppCatalogEntry;
  hosts: CompiledHostPattern[];
  userAgents: RegExp[];
  processes: string[];
}

export interface CompiledAppCatalog {
  entries: readonly CompiledEntry[];
  /** Catalog patterns Edge could not use (the rest of the entry still applies). */
  problems: string[];
}

/** Compiles the catalog once per bundle; a bad pattern is reported, never fatal, and never matches. */
export function compileAppCatalog(catalog: readonly AppCatalogEntry[]): CompiledAppCatalog {
  const problems: string[] = [];
  const entries = catalog.map((entry): CompiledEntry => ({
    entry,
    hosts: entry.match.hosts.flatMap((pattern) => {
      try {
        return [compileHostPattern(pattern)];
      } catch (err) {
        problems.push(`App "${entry.name}": ${(err as Error).message}`);
        return [];
      }
    }),
    userAgents: entry.match.user_agents.flatMap((pattern) => {
      try {
        return [new RegExp(pattern, 'i')];
      } catch {
        problems.push(`App "${entry.name}": the User-Agent pattern ${JSON.stringify(pattern)} is not a valid regular expression.`);
        return [];
      }
    }),
    processes: entry.match.processes.map(processKey),
  }));
  return { entries, problems };
}

export const EMPTY_APP_CATALOG: CompiledAppCatalog = { entries: [], problems: [] };

const STATUS_SEVERITY: Record<AppStatus, number> = { denied: 3, pending: 2, approved: 1 };

export function attributeApp(signals: AppSignals, catalog: CompiledAppCatalog): AppIdentity {
  const host = normalizeHost(signals.host);
  const recognizer = recognize(signals, host);
  const browser = recognizer?.browser === true;
  const process = signals.process !== undefined ? processKey(signals.process) : undefined;

  let best: { entry: AppCatalogEntry; signal: AppMatchSignal; strength: number } | undefined;
  for (const compiled of catalog.entries) {
    const match = matchEntry(compiled, signals, host, process, recognizer, browser);
    if (!match) continue;
    const better = !best || match.strength > best.strength
      || (match.strength === best.strength && STATUS_SEVERITY[compiled.entry.status] > STATUS_SEVERITY[best.entry.status]);
    if (better) best = { entry: compiled.entry, ...match };
  }

  const base = { browser, host, ...(recognizer ? { recognizedAs: recognizer.id } : {}) };
  if (best) {
    return {
      id: best.entry.id,
      name: best.entry.name,
      status: best.entry.status,
      listed: true,
      matchedBy: best.signal,
      ...(best.entry.routing ? { routing: best.entry.routing } : {}),
      ...base,
    };
  }
  if (recognizer) return { id: recognizer.id, name: recognizer.name, status: 'pending', listed: false, ...base };
  const product = productToken(signals.userAgent);
  return { id: product ? `ua:${product}` : 'unknown', name: product ?? `an unidentified app on ${host}`, status: 'pending', listed: false, ...base };
}

function matchEntry(
  compiled: CompiledEntry, signals: AppSignals, host: string, process: string | undefined, recognizer: Recognizer | undefined, browser: boolean,
): { signal: AppMatchSignal; strength: number } | undefined {
  // A browser identified by User-Agent or process ranks below the site it visits.
  const clientStrength = (strong: number) => (browser ? 0.5 : strong);
  if (process !== undefined && compiled.processes.includes(process)) return { signal: 'process', strength: clientStrength(4) };
  // An entry named after the app Edge recognised is an exact identification, stronger than a User-Agent
  // pattern that happens to match too (Electron apps such as Cursor carry `Chrome/` in theirs).
  if (recognizer !== undefined && compiled.entry.id === recognizer.id) return { signal: 'id', strength: clientStrength(3.5) };
  const ua = signals.userAgent;
  if (ua !== undefined && compiled.userAgents.some((re) => re.test(ua))) return { signal: 'user_agent', strength: clientStrength(3) };
  if (compiled.hosts.some((h) => h.matches(host))) return { signal: 'host', strength: 1 };
  return undefined;
}

const RECOGNIZER_HOSTS = new Map(BUILT_IN_RECOGNIZERS.map((r) => [r.id, (r.hosts ?? []).map(compileHostPattern)]));

/** The User-Agent first (apps set it deliberately), then the process, then the route or host the client called. */
function recognize(signals: AppSignals, host: string): Recognizer | undefined {
  const process = signals.process !== undefined ? processKey(signals.process) : undefined;
  const ua = signals.userAgent;
  return BUILT_IN_RECOGNIZERS.find((r) => ua !== undefined && r.userAgent?.test(ua))
    ?? BUILT_IN_RECOGNIZERS.find((r) => process !== undefined && r.processes?.includes(process))
    ?? BUILT_IN_RECOGNIZERS.find((r) => r.routes?.some((route) => route.host === host && (signals.path ?? '').startsWith(route.pathPrefix)))
    ?? BUILT_IN_RECOGNIZERS.find((r) => RECOGNIZER_HOSTS.get(r.id)?.some((pattern) => pattern.matches(host)));
}

/** `/Applications/Cursor.app/Contents/MacOS/Cursor` and `Cursor.exe` both read as `cursor`. */
function processKey(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/\.(exe|app)$/i, '').trim().toLowerCase();
}

function productToken(userAgent: string | undefined): string | undefined {
  const token = userAgent ? /^[A-Za-z0-9._-]+/.exec(userAgent)?.[0] : undefined;
  return token ? token.toLowerCase().slice(0, 64) : undefined;
}

export type AppVerdict =
  | { action: 'allow'; status: AppStatus; seen: boolean }
  | { action: 'block'; status: AppStatus; seen: boolean; error: EdgeError };

/**
 * Approved apps pass; denied ones are refused; pending ones (listed as pending, or not listed at all) pass
 * or are refused as `apps.pending_action` says, and are reported as seen either way so an admin can review.
 */
export function decideApp(app: AppIdentity, bundle: Pick<PolicyBundle, 'apps' | 'version'> | undefined): AppVerdict {
  if (!bundle) return { action: 'allow', status: app.status, seen: false };
  switch (app.status) {
    case 'approved':
      return { action: 'allow', status: 'approved', seen: false };
    case 'denied':
      return {
        action: 'block',
        status: 'denied',
        seen: false,
        error: edgeError(403, 'app_blocked',
          `Bifrost Edge blocked ${app.name}: your organization has not approved it for AI use. Use an approved AI tool instead, or ask your admin to review ${app.name}.`),
      };
    case 'pending':
      if (bundle.apps.pending_action === 'allow') return { action: 'allow', status: 'pending', seen: true };
      return {
        action: 'block',
        status: 'pending',
        seen: true,
        error: edgeError(403, 'app_blocked',
          `Bifrost Edge blocked ${app.name}: it is waiting for your admin's review, and until it is approved its AI requests are blocked. Your admin can see that you tried it; ask them to approve it, or use an approved AI tool meanwhile.`),
      };
  }
}
