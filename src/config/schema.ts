import { createPublicKey } from 'node:crypto';
import os from 'node:os';
import { z } from 'zod';
import { httpUrl, LOOPBACK_HOSTS, secureServiceUrl } from '../util/config-fields.js';
import type { CompiledGuardrailPolicy } from '../guardrails/compile-policy.js';
import { unknownGuardrailFields } from '../guardrails/policy.js';
import { AuthConfigSchema } from '../auth/auth-config.js';
import { compileHostPattern } from '../providers/host-pattern.js';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../proxy/form-upload.js';
import { REQUEST_BODY_IDLE_TIMEOUT_MS } from '../proxy/request-body.js';
import { LARGEST_RECORD_ROW_BYTES } from '../audit/largest-record.js';


/** The catalog's own host-pattern rules (host-pattern.ts), so a bad pattern is refused here, naming its field. */
const hostName = z.string().superRefine((value, ctx) => {
  try {
    compileHostPattern(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `must be a host name such as api.openai.com (wildcards like api.*.githubcopilot.com allowed): ${(err as Error).message}` });
  }
});

/** Checked here, so a key pasted without its PEM lines names this field instead of failing at start-up in OpenSSL. */
const publicKeyPem = z.string().min(1).refine(isPublicKeyPem, {
  message: 'must be a public key in PEM form, from "-----BEGIN PUBLIC KEY-----" to "-----END PUBLIC KEY-----" (public_key_pem in Edge Control\'s signing-key list)',
});

function isPublicKeyPem(text: string): boolean {
  if (!text.includes('-----BEGIN PUBLIC KEY-----')) return false;
  try {
    createPublicKey(text);
    return true;
  } catch {
    return false;
  }
}

export const MODES = ['local', 'gateway', 'passthrough'] as const;
export type Mode = (typeof MODES)[number];

/**
 * The agent configuration: one schema for the JSON file, env overrides and CLI flags alike.
 * Every field has a default so an empty file (or none) runs Edge in local mode.
 */
export const AgentConfigSchema = z.strictObject({
  /** local: forward to the provider itself; gateway: rewrite to Bifrost with the virtual key; passthrough: Bifrost's *_passthrough routes. */
  mode: z.enum(MODES).optional(),
  dataDir: z.string().min(1).optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  proxy: z.strictObject({
    host: z.string().regex(LOOPBACK_HOSTS, { message: 'must be a loopback address (127.0.0.1, ::1 or localhost): Edge never listens on the network' }).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8790),
    /** Largest request body Edge reads to inspect; bigger AI requests are refused with 413, never forwarded uninspected. */
    maxRequestBodyBytes: z.number().int().positive().default(32 * 1024 * 1024),
    /**
     * Largest multipart/form-data upload to an inspected route (image edits, transcriptions): its text is read
     * under maxRequestBodyBytes, its files held in a private temporary file meanwhile; bigger uploads get 413.
     */
    maxUploadBytes: z.number().int().positive().default(DEFAULT_MAX_UPLOAD_BYTES),
    /**
     * Disk all uploads held at once (spooled under <dataDir>/uploads while Edge decides on them) may take together,
     * so many large uploads side by side cannot fill the disk: one that would pass it is answered 503 with
     * Retry-After at once (an upload claims what its Content-Length declares when it starts, else what arrives),
     * and the space comes back as each exchange ends, however it ends. At least maxUploadBytes; by default the
     * larger of 2 GiB and maxUploadBytes. Never less, in effect, than one upload Edge takes: maxUploadBytes, or
     * maxRequestBodyBytes when that is larger (an upload may always be as large as a body Edge reads whole).
     */
    maxUploadSpoolBytes: z.number().int().positive().optional(),
    /**
     * How long a request body (JSON read to inspect, or an upload) may stop arriving before Edge ends the request
     * with 408. There is no bound on a whole request (a large upload on a slow link takes long); this ends a client
     * that stopped sending. At least a second: shorter would cut off ordinary pauses of a busy link.
     */
    requestBodyIdleTimeoutMs: z.number().int().min(1000).default(REQUEST_BODY_IDLE_TIMEOUT_MS),
    /** How long an intercepted tunnel may stay silent after it opens before Edge closes it. */
    tunnelFirstBytesTimeoutMs: z.number().int().min(100).default(30_000),
    /**
     * On shutdown, how long requests in flight may take to finish before they are cut off (new ones are
     * refused meanwhile). Short: supervisors and people quitting wait for it; a second signal exits at once.
     */
    shutdownGraceMs: z.number().int().min(0).max(120_000).default(5000),
  }).superRefine((proxy, ctx) => {
    if (proxy.maxUploadSpoolBytes !== undefined && proxy.maxUploadSpoolBytes < proxy.maxUploadBytes) {
      ctx.addIssue({ code: 'custom', path: ['maxUploadSpoolBytes'], message: `must be at least proxy.maxUploadBytes (${proxy.maxUploadBytes}): a budget smaller than one upload would refuse that upload every time; raise it or lower proxy.maxUploadBytes` });
    }
  }).prefault({}),
  gateway: z.strictObject({
    url: secureServiceUrl('the virtual key and every AI request'),
    virtualKey: z.string().startsWith('sk-bf-', { message: 'must be a Bifrost virtual key starting with sk-bf-' }).optional(),
    /** Extra CA (PEM file) to trust for the gateway's TLS certificate, for private PKI. */
    caFile: z.string().min(1).optional(),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** How long to wait for the first response byte; generous because reasoning models think for minutes. */
    responseTimeoutMs: z.number().int().positive().default(600_000),
    /** How long an answer may pause between two chunks of its body; as generous, a stream can pause while the model reasons. */
    bodyIdleTimeoutMs: z.number().int().positive().default(600_000),
    /** While the gateway is unreachable, how often Edge probes its /health to notice it is back. */
    healthProbeIntervalMs: z.number().int().min(100).default(5000),
    /**
     * Without Edge Control, read the key's own policy from stock Bifrost
     * (/api/governance/virtual-keys/quota) and enforce it on the device.
     */
    syncPolicyFromQuota: z.boolean().default(false),
  }).optional(),
  identity: z.strictObject({
    user: z.string().min(1).optional(),
    device: z.string().min(1).default(os.hostname()),
  }).prefault({}),
  /**
   * A policy bundle file (src/control/protocol/policy-bundle.ts) placed by the admin or MDM, for
   * devices without Edge Control; bundles synced from Edge Control replace it.
   */
  policyFile: z.string().min(1).optional(),
  /** OIDC sign-in (src/auth/auth-config.ts): issuer, client id, scopes. */
  auth: AuthConfigSchema.optional(),
  /** Edge Control: enrollment, signed policy bundles with push, audit upload. */
  control: z.strictObject({
    url: secureServiceUrl('sign-in tokens and virtual keys'),
    /** How the device enrolls: the signed-in user's OIDC ID token, or the configured virtual key. */
    enrollment: z.enum(['oidc', 'virtual_key']).default('oidc'),
    /** Bundle-signing public keys (SPKI PEM) to trust; default: those offered at enrollment. */
    pinnedPublicKeys: z.array(publicKeyPem).optional(),
    heartbeatSeconds: z.number().int().min(10).default(300),
  }).optional(),
  audit: z.strictObject({
    /**
     * Disk cap of the audit outbox; unsent records are never dropped to stay under it. Below the largest
     * record Edge can write, such records would be refused one by one, each request they audit with them.
     */
    maxBytes: z.number().int().min(LARGEST_RECORD_ROW_BYTES, {
      message: `must be at least ${LARGEST_RECORD_ROW_BYTES} bytes (the largest audit record Edge can write, with its storage overhead); raise audit.maxBytes (default 256 MiB)`,
    }).default(256 * 1024 * 1024),
    /** Also export audit records as OTLP/HTTP logs to this collector (e.g. http://127.0.0.1:4318). */
    otlpEndpoint: httpUrl.optional(),
  }).prefault({}),
  metrics: z.strictObject({
    /** Prometheus /metrics on 127.0.0.1:<port>; null turns it off, 0 picks a free port. */
    port: z.number().int().min(0).max(65535).nullable().default(9464),
  }).prefault({}),
  /**
   * Guardrail policy (src/guardrails/policy.ts); on by default: secrets block, PII is redacted. Compiled
   * after parsing; its field names are checked here, as every other section's are (see unknownGuardrailFields).
   */
  guardrails: z.unknown().superRefine((value, ctx) => {
    const unknown = unknownGuardrailFields(value);
    if (unknown.length > 0) ctx.addIssue({ code: 'unrecognized_keys', keys: unknown, input: value as Record<string, unknown>, message: `has unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}; remove them or check their spelling` });
  }).optional(),
  /** Replaces the built-in list of AI hosts to decrypt (normally pushed by policy). */
  interceptHosts: z.array(hostName).optional(),
  upstream: z.strictObject({
    /** Send a host's traffic to another origin (private deployments, tests): {"api.openai.com": "https://127.0.0.1:9443"}. */
    originOverrides: z.record(hostName, httpUrl).default({}),
    /** Extra CA (PEM file) to trust for upstream origins. */
    caFile: z.string().min(1).optional(),
  }).prefault({}),
});

export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
export type ParsedAgentConfig = z.output<typeof AgentConfigSchema>;

/** The configuration after defaults are resolved: mode, data dir and a compiled guardrail policy are always known. */
export type AgentConfig = Omit<ParsedAgentConfig, 'mode' | 'dataDir' | 'guardrails'> & { mode: Mode; dataDir: string; guardrails: CompiledGuardrailPolicy };
