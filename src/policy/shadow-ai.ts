import { compileHostPattern, normalizeHost } from '../providers/host-pattern.js';
import { compileSurfaceCatalog, DEFAULT_SURFACES } from '../providers/catalog.js';
import type { PolicyDatabase } from './policy-database.js';

/**
 * Shadow AI: AI services and apps the device uses that the policy does not know about.
 * - hosts: well-known AI API hosts that are not on the intercept list (traffic Edge only tunnels, so
 *   nothing governs it); the CONNECT router reports each host it tunnels and this list says which are AI.
 * - apps: clients on governed AI hosts that match no catalog entry (treated as pending).
 * The registry keeps name, first/last seen and a count per entry, in the policy database, so an admin
 * (through status and the audit trail) sees what people actually use.
 */

/** AI hosts beyond the default intercept list (providers/catalog.ts). Data, not logic: extend freely. */
export const KNOWN_AI_HOST_PATTERNS: readonly string[] = [
  'api.together.xyz', 'api.together.ai', 'api.fireworks.ai', 'api.cohere.com', 'api.cohere.ai', 'api.replicate.com',
  'api-inference.huggingface.co', 'router.huggingface.co', 'api.cerebras.ai', 'api.sambanova.ai', 'api.deepinfra.com',
  'api.ai21.com', 'api.moonshot.ai', 'api.moonshot.cn', 'dashscope.aliyuncs.com', 'dashscope-intl.aliyuncs.com',
  'open.bigmodel.cn', 'api.hyperbolic.xyz', 'api.novita.ai', 'api.lambda.ai', 'api.minimax.io', 'api.reka.ai',
  'api.writer.com', 'api.voyageai.com', 'api.jina.ai', 'api.elevenlabs.io', 'api.stability.ai', 'api.runwayml.com',
  'gemini.google.com', 'aistudio.google.com', 'copilot.microsoft.com', 'chat.mistral.ai', 'chat.deepseek.com',
  'www.perplexity.ai', 'perplexity.ai', 'grok.com', 'poe.com', 'character.ai', 'you.com', 'huggingface.co',
  'www.meta.ai', 'pi.ai', 'kimi.com', 'www.kimi.com', 'chat.qwen.ai', 'cursor.com', 'api.cursor.sh',
  'api.codeium.com', 'server.codeium.com', 'api.tabnine.com', 'api.sourcegraph.com', 'api.windsurf.ai',
  'bedrock-runtime.*.amazonaws.com', '*-aiplatform.googleapis.com',
];

const COMPILED = KNOWN_AI_HOST_PATTERNS.flatMap((pattern) => {
  // `*-aiplatform.googleapis.com` is a partial-label wildcard, which host patterns refuse; match it by suffix.
  if (pattern.startsWith('*-')) {
    const suffix = pattern.slice(1);
    return [{ matches: (host: string) => host.endsWith(suffix) && !host.slice(0, -suffix.length).includes('.') && host.length > suffix.length }];
  }
  return [compileHostPattern(pattern)];
});

/** The built-in AI surfaces count too: when policy narrows the intercept list, they are tunnelled unseen. */
const DEFAULT_CATALOG = compileSurfaceCatalog(DEFAULT_SURFACES);

/** True when `host` is a known AI service (for hosts Edge does not intercept). */
export function isKnownAiHost(host: string): boolean {
  const normalized = normalizeHost(host);
  return DEFAULT_CATALOG.match(normalized) !== undefined || COMPILED.some((p) => p.matches(normalized));
}

export type ShadowKind = 'host' | 'app';

export interface ShadowEntry {
  kind: ShadowKind;
  name: string;
  /** Where it was seen: the host for apps, the app for hosts, when known. */
  detail?: string;
  firstSeen: string;
  lastSeen: string;
  count: number;
}

export interface ShadowAiRegistry {
  /** Counts one sighting; returns true when the entry is new (first time ever seen). */
  record(kind: ShadowKind, name: string, detail: string | undefined, now: Date): boolean;
  list(limit?: number): ShadowEntry[];
}

export class SqliteShadowAiRegistry implements ShadowAiRegistry {
  private readonly upsert;
  private readonly select;

  constructor(db: PolicyDatabase) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS shadow_ai (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        detail TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (kind, name)
      );
    `);
    this.upsert = db.prepare<[string, string, string | null, string, string]>(
      `INSERT INTO shadow_ai (kind, name, detail, first_seen, last_seen, count) VALUES (?, ?, ?, ?, ?, 1)
       ON CONFLICT(kind, name) DO UPDATE SET last_seen = excluded.last_seen, count = count + 1,
         detail = COALESCE(excluded.detail, detail)
       RETURNING count`);
    this.select = db.prepare<[number], { kind: ShadowKind; name: string; detail: string | null; first_seen: string; last_seen: string; count: number }>(
      'SELECT kind, name, detail, first_seen, last_seen, count FROM shadow_ai ORDER BY last_seen DESC LIMIT ?');
  }

  record(kind: ShadowKind, name: string, detail: string | undefined, now: Date): boolean {
    const iso = now.toISOString();
    const row = this.upsert.get(kind, name.slice(0, 200), detail?.slice(0, 200) ?? null, iso, iso) as { count: number } | undefined;
    return row?.count === 1;
  }

  list(limit = 100): ShadowEntry[] {
    return this.select.all(limit).map((r) => ({
      kind: r.kind,
      name: r.name,
      ...(r.detail !== null ? { detail: r.detail } : {}),
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      count: r.count,
    }));
  }
}
