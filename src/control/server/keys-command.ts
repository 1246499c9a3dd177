import { parseArgs } from 'node:util';
import { createLogger } from '../../log.js';
import { AdminSigningKeysResponseSchema, type AdminSigningKey, type AdminSigningKeysResponse } from '../protocol/admin-signing-keys.js';
import { ControlErrorBodySchema } from '../protocol/errors.js';
import { EdgeControlPaths, endpointUrl } from '../protocol/paths.js';
import { keyringFileOf, loadControlServerConfigFile, type ControlServerConfig } from './config.js';
import { KeyRotationError } from './signing-key-rotation.js';
import { SigningKeyring } from './signing-keyring.js';

export const CONTROL_KEYS_USAGE = `Usage: bifrost-edge control keys <list|rotate|promote|retire> --config F [--key-id ID] [--url URL] [--offline] [--json]

Rotates the Edge Control server's policy-signing key without re-enrolling devices, in three steps:
  rotate    generate the next key and announce it in every device's signed bundle (devices start trusting it)
  promote   sign with the next key from now on (the key it replaces stays trusted until retired)
  retire    stop announcing a key (default: the previous one; --key-id ID for another) and delete its private key
  list      the keys, and how many devices enforce a bundle that announces the current keys
Promote and retire once "devices up to date" reaches the total: a device that missed the whole
rotation enrolls again to learn the new key; devices with pinned keys need the new key in their
configuration (control.pinnedPublicKeys) before the promotion.

  --config F   the server's config file (admin_token, listen address, signing key ring)
  --url URL    the running server's address, when it is not listen.host:listen.port of the config
  --offline    edit the key ring file directly, for a server that is NOT running (it reads the ring at start)
  --json       print the key ring as JSON
Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad usage or configuration.
`;

const ACTIONS = ['list', 'rotate', 'promote', 'retire'] as const;
type Action = (typeof ACTIONS)[number];

interface KeysCommandOutput {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processOutput: KeysCommandOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** A failure with the exit code it maps to and the sentence to print. */
class CommandFailure extends Error {
  constructor(readonly exitCode: 1 | 2, message: string) {
    super(message);
  }
}

/** `bifrost-edge control keys …`: returns the exit code. */
export async function runControlKeysCommand(argv: string[], out: KeysCommandOutput = processOutput): Promise<number> {
  try {
    const request = parseRequest(argv);
    if (request === 'help') {
      out.stdout(CONTROL_KEYS_USAGE);
      return 0;
    }
    const answer = request.offline ? await runOffline(request) : await runThroughServer(request);
    out.stdout(request.json ? `${JSON.stringify(answer.response, null, 2)}\n` : render(answer));
    return 0;
  } catch (err) {
    if (!(err instanceof CommandFailure)) throw err;
    out.stderr(`bifrost-edge control keys: ${err.message}\n${err.exitCode === 2 ? `\n${CONTROL_KEYS_USAGE}` : ''}`);
    return err.exitCode;
  }
}

interface KeysRequest {
  action: Action;
  config: ControlServerConfig;
  keyId?: string;
  url?: string;
  offline: boolean;
  json: boolean;
}

function parseRequest(argv: string[]): KeysRequest | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' }, 'key-id': { type: 'string' }, url: { type: 'string' },
        offline: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new CommandFailure(2, (err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [action, ...extra] = positionals;
  if (!action || !(ACTIONS as readonly string[]).includes(action)) throw new CommandFailure(2, action ? `unknown action "${action}"` : 'name an action: list, rotate, promote or retire');
  if (extra.length > 0) throw new CommandFailure(2, `unexpected argument "${extra[0]}"`);
  if (values['key-id'] !== undefined && action !== 'retire') throw new CommandFailure(2, '--key-id only goes with retire');
  if (values.offline && values.url !== undefined) throw new CommandFailure(2, '--offline edits the key ring file; it takes no --url');
  if (!values.config) throw new CommandFailure(2, '--config is required');
  let config: ControlServerConfig;
  try {
    config = loadControlServerConfigFile(values.config);
  } catch (err) {
    throw new CommandFailure(2, (err as Error).message);
  }
  const request: KeysRequest = { action: action as Action, config, offline: values.offline === true, json: values.json === true };
  if (values['key-id'] !== undefined) request.keyId = values['key-id'];
  if (values.url !== undefined) request.url = values.url;
  return request;
}

interface KeysAnswer {
  action: Action;
  response: AdminSigningKeysResponse | { keys: AdminSigningKey[] };
  where: string;
}

/** The running server does the change, so it signs with the new key at once and republishes to every device. */
async function runThroughServer(request: KeysRequest): Promise<KeysAnswer> {
  const base = request.url ?? configuredUrl(request.config);
  const path = {
    list: EdgeControlPaths.adminSigningKeys,
    rotate: EdgeControlPaths.adminSigningKeysRotate,
    promote: EdgeControlPaths.adminSigningKeysPromote,
    retire: EdgeControlPaths.adminSigningKeysRetire,
  }[request.action];
  const url = endpointUrl(base, path);
  const init: RequestInit = { method: request.action === 'list' ? 'GET' : 'POST', headers: { authorization: `Bearer ${request.config.admin_token}` }, signal: AbortSignal.timeout(30_000) };
  if (request.action === 'retire') {
    init.body = JSON.stringify(request.keyId === undefined ? {} : { key_id: request.keyId });
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CommandFailure(1, `no Edge Control server answers at ${url.origin} (${cause}); start it, pass its address with --url, or, while it is stopped, use --offline to edit the key ring file`);
  }
  const text = await res.text();
  if (!res.ok) {
    const body = ControlErrorBodySchema.safeParse(safeJson(text));
    throw new CommandFailure(1, body.success ? `${body.data.error.message} (${body.data.error.type})` : `the server answered HTTP ${res.status}`);
  }
  const parsed = AdminSigningKeysResponseSchema.safeParse(safeJson(text));
  if (!parsed.success) throw new CommandFailure(1, `the server at ${url.origin} answered something that is not a signing key list; is it an Edge Control server of this version?`);
  return { action: request.action, response: parsed.data, where: url.origin };
}

/** For a stopped server: the same rotation rules, applied to the key ring file it reads at start. */
async function runOffline(request: KeysRequest): Promise<KeysAnswer> {
  const file = keyringFileOf(request.config);
  const log = createLogger('warn');
  try {
    const ring = await SigningKeyring.open({ file, legacyKeyFile: request.config.signing_key_file, log });
    if (request.action === 'rotate') await ring.rotate();
    if (request.action === 'promote') await ring.promote();
    if (request.action === 'retire') await ring.retire(request.keyId);
    return { action: request.action, response: { keys: ring.list() }, where: file };
  } catch (err) {
    if (err instanceof KeyRotationError) throw new CommandFailure(1, err.message);
    throw new CommandFailure(1, (err as Error).message);
  }
}

function configuredUrl(config: ControlServerConfig): string {
  if (config.listen.port === 0) throw new CommandFailure(2, 'the config has listen.port 0 (a random port), so the server\'s address is unknown; pass it with --url');
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return `http://${host}:${config.listen.port}`;
}

const DONE: Record<Action, string> = {
  list: '',
  rotate: 'Announced the next key: devices trust it from their next bundle. Promote it once devices are up to date.',
  promote: 'The next key signs from now on; the key it replaced stays trusted until you retire it.',
  retire: 'Retired: devices stop trusting that key with their next bundle, and its private key is deleted.',
};

function render(answer: KeysAnswer): string {
  const lines: string[] = [];
  if (DONE[answer.action]) lines.push(DONE[answer.action], '');
  const rows = answer.response.keys.map((k) => [k.status, k.key_id, k.created_at, k.activated_at ?? '-', k.retired_at ?? '-']);
  const header = ['STATUS', 'KEY ID', 'CREATED', 'ACTIVATED', 'RETIRED'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  lines.push('');
  if ('devices' in answer.response) {
    const { devices, republished_devices: republished } = answer.response;
    lines.push(`Devices up to date: ${devices.up_to_date} of ${devices.total}${republished !== undefined ? ` (${republished} got a new bundle now)` : ''}`);
  } else {
    lines.push(`Edited ${answer.where} directly; the server uses it when it starts (devices get the change with their next bundle).`);
  }
  return `${lines.join('\n')}\n`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
