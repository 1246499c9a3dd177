import type { ProviderName } from './types.js';
import { compileHostPattern, normalizeHost, type CompiledHostPattern } from './host-pattern.js';

/** The adapters that know an API shape. `null` in an entry: decrypt the host, but no route is parsed. */
export type AdapterId = 'openai-compatible' | 'anthropic' | 'gemini' | 'chatgpt-web' | 'claude-web' | 'mcp' | 'cursor' | 'copilot-completions';

/** What happens to a request the surface's adapter does not recognise. */
export type UnknownRoutePolicy = 'reject' | 'pass';

/** One AI surface: which hosts it lives on and how Edge reads it. Plain data, so policy can replace the list. */
export interface SurfaceEntry {
  /** Human name for messages and the activity view. */
  label: string;
  /** Exact hosts or wildcard patterns (see host-pattern.ts). */
  hosts: string[];
  provider: ProviderName;
  adapter: AdapterId | null;
  /**
   * Path prefixes the API lives under (`/v1`, `/openai/v1`, `/api/v1`); `''` = the API sits at the root.
   * Adapters recognise routes relative to the longest matching prefix.
   */
  pathPrefixes: string[];
  /**
   * Unrecognised routes under the prefixes: `reject` (API hosts: a 404 that names the route, so an undocumented
   * endpoint cannot carry data past inspection) or `pass` (web apps that also serve pages and assets).
   */
  unknownRoutes: UnknownRoutePolicy;
  /** Paths outside every prefix; defaults to `unknownRoutes`. `pass` when a website shares the API's host. */
  otherPaths?: UnknownRoutePolicy;
  /**
   * Other API shapes the same host serves, tried in order after `adapter`, each under its own prefixes
   * (GitHub Copilot also answers Anthropic's `/v1/messages` for the Claude models it offers).
   */
  alsoServes?: ReadonlyArray<{ adapter: AdapterId; pathPrefixes: string[] }>;
  /**
   * A path under which `{deploymentsPath}/{name}/...` names the model before the operation (Azure OpenAI's
   * `/openai/deployments/{deployment}/chat/completions`): the routes below each deployment are recognised as under
   * a prefix, and the deployment's name is the request's model whatever the body says, since it is what the origin uses.
   */
  deploymentsPath?: string;
  /**
   * A path under which `{projectsPath}/{project}/...` is a project's own copy of the API (Azure AI Foundry's
   * `/api/projects/{project}/openai/v1/responses`): the entry's other prefixes and its deployments path are
   * recognised again below each project, and so is the project's classic Agent Service, OpenAI's Assistants API at the
   * project's own root (`{projectsPath}/{project}/assistants`, `.../threads/...`: openai-compatible.ts AGENT_SERVICE_ROOTS).
   * List it in `pathPrefixes` too, so that a route under it that is not read
   * is an unknown route under the API (refused on a `reject` entry), not one of the host's other paths.
   */
  projectsPath?: string;
}

/**
 * GitHub Copilot's hosts: its API (chat, agents; `api.{individual,business,enterprise}.githubcopilot.com` per plan)
 * and its completions proxy, where the editor sends the file being edited for ghost text
 * (`proxy.{individual,business,enterprise}.githubcopilot.com`; `copilot-proxy.githubusercontent.com` before those).
 * The app catalog's Copilot recogniser uses the same list.
 */
export const GITHUB_COPILOT_HOSTS: readonly string[] = [
  'api.githubcopilot.com', 'api.*.githubcopilot.com', 'proxy.*.githubcopilot.com', 'copilot-proxy.githubusercontent.com',
];

/**
 * The default intercept list: DESIGN.md's "AI surfaces". Policy pushed by the gateway replaces it later;
 * keep it data so that swap needs no code change.
 */
export const DEFAULT_SURFACES: readonly SurfaceEntry[] = [
  { label: 'OpenAI API', hosts: ['api.openai.com'], provider: 'openai', adapter: 'openai-compatible', pathPrefixes: ['/v1'], unknownRoutes: 'reject' },
  { label: 'ChatGPT', hosts: ['chatgpt.com'], provider: 'chatgpt-web', adapter: 'chatgpt-web', pathPrefixes: [''], unknownRoutes: 'pass' },
  { label: 'Anthropic API', hosts: ['api.anthropic.com'], provider: 'anthropic', adapter: 'anthropic', pathPrefixes: ['/v1'], unknownRoutes: 'reject' },
  { label: 'Claude', hosts: ['claude.ai'], provider: 'claude-web', adapter: 'claude-web', pathPrefixes: [''], unknownRoutes: 'pass' },
  {
    label: 'Gemini API',
    hosts: ['generativelanguage.googleapis.com'],
    provider: 'gemini',
    adapter: 'gemini',
    // v1alpha carries the same generateContent routes (preview features); /upload/... is the resumable file upload.
    pathPrefixes: ['/v1beta', '/v1', '/v1alpha', '/upload/v1beta', '/upload/v1'],
    unknownRoutes: 'reject',
  },
  { label: 'Groq', hosts: ['api.groq.com'], provider: 'groq', adapter: 'openai-compatible', pathPrefixes: ['/openai/v1'], unknownRoutes: 'reject' },
  { label: 'Mistral', hosts: ['api.mistral.ai'], provider: 'mistral', adapter: 'openai-compatible', pathPrefixes: ['/v1'], unknownRoutes: 'reject' },
  { label: 'xAI', hosts: ['api.x.ai'], provider: 'xai', adapter: 'openai-compatible', pathPrefixes: ['/v1'], unknownRoutes: 'reject' },
  // DeepSeek documents both https://api.deepseek.com and .../v1 as base URLs, and /beta for FIM completions.
  { label: 'DeepSeek', hosts: ['api.deepseek.com'], provider: 'deepseek', adapter: 'openai-compatible', pathPrefixes: ['', '/v1', '/beta'], unknownRoutes: 'reject' },
  // openrouter.ai is also the website: only /api/v1 is the API, everything else is pages and assets.
  { label: 'OpenRouter', hosts: ['openrouter.ai'], provider: 'openrouter', adapter: 'openai-compatible', pathPrefixes: ['/api/v1'], unknownRoutes: 'reject', otherPaths: 'pass' },
  { label: 'Perplexity', hosts: ['api.perplexity.ai'], provider: 'perplexity', adapter: 'openai-compatible', pathPrefixes: ['', '/v1'], unknownRoutes: 'reject' },
  {
    label: 'GitHub Copilot',
    hosts: [...GITHUB_COPILOT_HOSTS],
    provider: 'copilot',
    adapter: 'openai-compatible',
    // Both spellings of each shape are read (`/chat/completions` and `/v1/chat/completions`, `/v1/messages`
    // and `/messages`): with unknown routes passing, a spelling Edge did not know went out unread.
    pathPrefixes: ['', '/v1'],
    // Copilot's API is private and changes with each IDE release (agents, sessions, ping): refusing what we
    // do not know would break the editor, so the known chat routes are inspected and the rest passes.
    unknownRoutes: 'pass',
    // Claude models are served in Anthropic's own Messages shape (VS Code Copilot Chat, opencode use it);
    // code completions in Copilot's own (/v1/engines/{engine}/completions).
    alsoServes: [{ adapter: 'anthropic', pathPrefixes: ['/v1', ''] }, { adapter: 'copilot-completions', pathPrefixes: ['/v1'] }],
  },
  // Azure OpenAI: an OpenAI-shaped API on each customer's resource host, {resource}.openai.azure.com.
  // `/openai/deployments/{deployment}/...` takes the model from the path; `/openai/v1/...` (the v1 API) and
  // `/openai/...` (Responses, Assistants, files and batches on dated api-versions) take it from the body. The
  // resource host serves nothing else, so every other path is refused too.
  {
    label: 'Azure OpenAI',
    hosts: ['*.openai.azure.com'],
    provider: 'azure',
    adapter: 'openai-compatible',
    pathPrefixes: ['/openai/v1', '/openai'],
    deploymentsPath: '/openai/deployments',
    unknownRoutes: 'reject',
  },
  // The same API on Azure AI Services (multi-service) and Azure AI Foundry resources, whose hosts also serve Azure's
  // other AI APIs (Vision, Language, Speech, Document Intelligence, Content Safety, Translator): those carry no chat
  // with a model and pass, as they did before these hosts were decrypted. Foundry's model inference API
  // (`/models/chat/completions`, model in the body) is read like the rest, and so is a Foundry project's OpenAI API
  // (`/api/projects/{project}/openai/v1/...`) and its classic Agent Service, OpenAI's Assistants API at the project's
  // root (`/api/projects/{project}/assistants`, `.../threads/{thread}/runs`: openai-compatible.ts). The project's other
  // routes (connections, evaluations, datasets, indexes, files, the new `/agents` API) are not read, so they are
  // refused rather than passed.
  {
    label: 'Azure AI Services',
    hosts: ['*.cognitiveservices.azure.com', '*.services.ai.azure.com'],
    provider: 'azure',
    adapter: 'openai-compatible',
    pathPrefixes: ['/openai/v1', '/openai', '/models', '/api/projects'],
    deploymentsPath: '/openai/deployments',
    projectsPath: '/api/projects',
    unknownRoutes: 'reject',
    otherPaths: 'pass',
  },
  // Connect RPC in protobuf, read schema-less (cursor.ts); its other calls (JSON, GET, downloads) pass.
  { label: 'Cursor', hosts: ['api2.cursor.sh'], provider: 'cursor', adapter: 'cursor', pathPrefixes: [''], unknownRoutes: 'pass' },
];

export interface SurfaceCatalog {
  /** The surface serving `host` (any case, with or without port or trailing dot), or undefined: not an AI host. */
  match(host: string): SurfaceEntry | undefined;
  /** Every host pattern, in catalog order: what the CONNECT router and PAC file decrypt. */
  hosts(): string[];
}

/**
 * Compiles the entries into a matcher. Exact hosts win over wildcards, and among wildcards the one with
 * more fixed labels wins (then catalog order). Throws on an invalid pattern or a host listed twice, since a
 * silently ignored line in an intercept list is a governance hole.
 */
export function compileSurfaceCatalog(entries: readonly SurfaceEntry[]): SurfaceCatalog {
  const exact = new Map<string, SurfaceEntry>();
  const wildcards: Array<{ compiled: CompiledHostPattern; entry: SurfaceEntry }> = [];
  const owners = new Map<string, string>();

  for (const entry of entries) {
    for (const raw of entry.hosts) {
      const compiled = compileHostPattern(raw);
      const previous = owners.get(compiled.pattern);
      if (previous !== undefined) {
        throw new Error(`Host pattern "${compiled.pattern}" is listed twice (${previous} and ${entry.label}); keep it in one entry.`);
      }
      owners.set(compiled.pattern, entry.label);
      if (compiled.wildcard) wildcards.push({ compiled, entry });
      else exact.set(compiled.pattern, entry);
    }
  }
  // Stable sort keeps catalog order among equally specific wildcards.
  wildcards.sort((a, b) => b.compiled.literalLabels - a.compiled.literalLabels);
  const patterns = [...owners.keys()];

  return {
    match(host) {
      const normalized = normalizeHost(host);
      return exact.get(normalized) ?? wildcards.find((w) => w.compiled.matches(normalized))?.entry;
    },
    hosts: () => [...patterns],
  };
}
