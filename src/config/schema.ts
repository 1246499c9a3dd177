import os from 'node:os';
import { z } from 'zod';
import type { CompiledGuardrailPolicy } from '../guardrails/compile-policy.js';

/** Hosts Edge may listen on. Anything else would expose decrypted traffic to the network. */
const LOOPBACK_HOSTS = /^(127(\.\d{1,3}){3}|::1|localhost)$/;

const httpUrl = z.string().refine((value) => {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}, { message: 'must be an http:// or https:// URL, e.g. https://bifrost.example.com' });

const hostName = z.string().regex(/^(\*\.)?[a-z0-9*]([a-z0-9*-]*[a-z0-9*])?(\.[a-z0-9*]([a-z0-9*-]*[a-z0-9*])?)*$/i, {
  message: 'must be a host name such as api.openai.com (wildcards like api.*.githubcopilot.com allowed)',
});

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
  }).prefault({}),
  gateway: z.strictObject({
    url: httpUrl,
    virtualKey: z.string().startsWith('sk-bf-', { message: 'must be a Bifrost virtual key starting with sk-bf-' }).optional(),
    /** Extra CA (PEM file) to trust for the gateway's TLS certificate, for private PKI. */
    caFile: z.string().min(1).optional(),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** How long to wait for the first response byte; generous because reasoning models think for minutes. */
    responseTimeoutMs: z.number().int().positive().default(600_000),
    /** While the gateway is unreachable, how often Edge probes its /health to notice it is back. */
    healthProbeIntervalMs: z.number().int().min(100).default(5000),
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
  /** Guardrail policy (src/guardrails/policy.ts); on by default: secrets block, PII is redacted. */
  guardrails: z.unknown().optional(),
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
