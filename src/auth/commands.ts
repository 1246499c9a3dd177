import type * as client from 'openid-client';
import { silentLogger, type Logger } from '../log.js';
import type { AuthConfig } from './auth-config.js';
import { EXIT_FAILED, EXIT_NOT_CONFIGURED, EXIT_OK } from './exit-codes.js';
import { identityFromTokens, type Identity } from './identity.js';
import { describeDuration } from './oidc-login.js';
import { SessionManager } from './session.js';
import type { OpenBrowser } from './system-browser.js';
import type { TokenStore, TokenStoreDescription } from './token-store.js';
import { forgetVirtualKey, showVirtualKeySignIn, type ForgetOutcome } from './virtual-key-commands.js';
import type { VirtualKeyStore } from './virtual-key-store.js';

/** Where a command writes: `out` for results (stdout), `err` for progress, warnings and errors (stderr). */
export interface CommandOutput {
  out(line: string): void;
  err(line: string): void;
}

export interface AuthCommandDependencies {
  /** Sign-in settings from the managed configuration; undefined when IT has not configured sign-in. */
  config: AuthConfig | undefined;
  store: TokenStore;
  output: CommandOutput;
  log?: Logger;
  /** Defaults to the system browser. */
  openBrowser?: OpenBrowser;
  /** Aborts a waiting `login` (wire it to SIGINT). */
  signal?: AbortSignal;
  /** Provider discovery override (defaults to the configured issuer's discovery document). */
  discover?: () => Promise<client.Configuration>;
  /** Overrides the configured login timeout. */
  timeoutMs?: number;
  /** The virtual key saved by `login --virtual-key`: `logout` deletes it, `whoami` shows it masked. */
  virtualKeys?: VirtualKeyStore;
  /** `control.url`, which a saved virtual key must belong to. */
  controlUrl?: string;
}

/** Exit codes: 0 done, 1 failed / not signed in, 2 sign-in not configured. */
export { EXIT_FAILED, EXIT_NOT_CONFIGURED, EXIT_OK };

const NOT_CONFIGURED = 'Sign-in is not configured on this device. IT sets auth.issuer and auth.clientId in the Bifrost Edge managed configuration.';

/** `bifrost-edge login`: opens the browser, prints the URL too, waits for the sign-in to finish. */
export async function runLoginCommand(deps: AuthCommandDependencies): Promise<number> {
  const { config, output } = deps;
  if (!config) {
    output.err(NOT_CONFIGURED);
    return EXIT_NOT_CONFIGURED;
  }
  const session = new SessionManager({ config, store: deps.store, log: deps.log ?? silentLogger, ...(deps.discover ? { discover: deps.discover } : {}) });
  try {
    const { identity, warnings } = await session.signIn({
      ...(deps.openBrowser ? { openBrowser: deps.openBrowser } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
      onAuthorizationUrl: (url) => {
        output.err('Opening your browser to sign in to Bifrost Edge…');
        output.err(`If it does not open, visit:\n\n  ${url}\n`);
        output.err(`Waiting for you to finish signing in (up to ${describeDuration(deps.timeoutMs ?? config.loginTimeoutSeconds * 1000)})…`);
      },
      onBrowserError: (error) => output.err(`Could not open a browser (${error.message}). Open the address above in a browser on this computer.`),
    });
    output.out(`Signed in to Bifrost Edge as ${displayName(identity)}.`);
    for (const line of identityLines(identity, deps.store.describe())) output.out(line);
    for (const warning of warnings) output.err(`Warning: ${warning}`);
    return EXIT_OK;
  } catch (error) {
    output.err(`Sign-in failed: ${errorMessage(error)}`);
    return EXIT_FAILED;
  } finally {
    session.stop();
  }
}

/** `bifrost-edge logout`: revokes the tokens at the provider and deletes them from this device. */
export async function runLogoutCommand(deps: AuthCommandDependencies): Promise<number> {
  // The virtual key goes first: deleting it needs no network, so a provider that is down cannot keep it.
  const key: ForgetOutcome = deps.virtualKeys ? await forgetVirtualKey(deps.virtualKeys) : { status: 'none' };
  if (key.status === 'deleted') deps.output.out(`Signed out of Bifrost Edge: the virtual key ${key.masked} was deleted from this device.`);
  if (key.status === 'failed') deps.output.err(key.message);
  const session = await signOutOfSession(deps, key.status === 'deleted');
  return key.status === 'failed' ? EXIT_FAILED : session;
}

/** The OIDC part of `logout`. `keyDeleted`: a virtual-key sign-in was just removed, so "not signed in" would be wrong. */
async function signOutOfSession(deps: AuthCommandDependencies, keyDeleted: boolean): Promise<number> {
  const { config, output } = deps;
  if (!config) {
    // Without an issuer there is nobody to revoke with, but the local copy can still go.
    try {
      await deps.store.clear();
    } catch (error) {
      output.err(`Could not delete the saved sign-in: ${errorMessage(error)}`);
      return EXIT_FAILED;
    }
    if (!keyDeleted) output.out('Deleted any saved sign-in from this device. Sign-in is not configured, so nothing was revoked at an identity provider.');
    return EXIT_OK;
  }
  const session = new SessionManager({ config, store: deps.store, log: deps.log ?? silentLogger, ...(deps.discover ? { discover: deps.discover } : {}) });
  try {
    const { revocation } = await session.signOut();
    switch (revocation.status) {
      case 'nothing_to_revoke':
        if (!keyDeleted) output.out('Not signed in; nothing to sign out of. Any saved sign-in files were removed.');
        break;
      case 'revoked':
        output.out(`Signed out of Bifrost Edge: your tokens were revoked at ${config.issuer} and deleted from this device.`);
        break;
      case 'not_supported':
        output.out('Signed out of Bifrost Edge: your tokens were deleted from this device.');
        output.err(`Note: ${config.issuer} does not offer token revocation, so tokens already issued stay valid until they expire.`);
        break;
      case 'failed':
        output.out('Signed out of Bifrost Edge on this device: your tokens were deleted.');
        output.err(`Warning: revoking them at the identity provider failed, so they stay valid until they expire. ${revocation.error.message}`);
        break;
    }
    return EXIT_OK;
  } catch (error) {
    output.err(`Sign-out failed: ${errorMessage(error)}`);
    return EXIT_FAILED;
  }
}

export interface WhoamiOptions {
  json?: boolean;
  now?: () => number;
}

/**
 * `bifrost-edge whoami [--json]`: shows the saved identity. Read-only on purpose: it never refreshes,
 * so it can't race the running agent for a rotating refresh token.
 */
export async function runWhoamiCommand(deps: AuthCommandDependencies, options: WhoamiOptions = {}): Promise<number> {
  const { output } = deps;
  let tokens;
  try {
    tokens = await deps.store.load();
  } catch (error) {
    if (options.json) output.out(JSON.stringify({ signedIn: false, error: errorMessage(error) }));
    output.err(errorMessage(error));
    return EXIT_FAILED;
  }
  const stale = tokens && deps.config && (tokens.issuer !== deps.config.issuer || tokens.clientId !== deps.config.clientId);
  if ((!tokens || stale) && deps.virtualKeys) {
    // No OIDC session: the agent enrolls with the saved virtual key, if there is one.
    const shown = await showVirtualKeySignIn(deps.virtualKeys, output, { ...(options.json ? { json: true } : {}), ...(deps.controlUrl ? { controlUrl: deps.controlUrl } : {}) });
    if (shown !== undefined) return shown;
  }
  if (!tokens || stale) {
    const why = stale
      ? `The saved sign-in is for ${tokens!.issuer}, but this device is now configured for ${deps.config!.issuer}. Run \`bifrost-edge login\`.`
      : deps.config ? 'Not signed in to Bifrost Edge. Run `bifrost-edge login`.' : `Not signed in to Bifrost Edge. ${NOT_CONFIGURED}`;
    if (options.json) output.out(JSON.stringify({ signedIn: false }));
    output.err(why);
    return EXIT_FAILED;
  }
  const identity = identityFromTokens(tokens, deps.config?.groupsClaim);
  const storage = deps.store.describe();
  if (options.json) {
    output.out(JSON.stringify({ signedIn: true, identity, storage: { backend: storage.backend, location: storage.location, ...(storage.warning ? { warning: storage.warning } : {}) } }));
    return EXIT_OK;
  }
  output.out(`Signed in to Bifrost Edge as ${displayName(identity)}.`);
  for (const line of identityLines(identity, storage, (options.now ?? Date.now)())) output.out(line);
  if (storage.warning) output.err(`Warning: ${storage.warning}`);
  return EXIT_OK;
}

function displayName(identity: Identity): string {
  if (identity.name && identity.email) return `${identity.name} <${identity.email}>`;
  return identity.email ?? identity.name ?? identity.sub;
}

function identityLines(identity: Identity, storage: TokenStoreDescription, now = Date.now()): string[] {
  const lines = [`  subject:   ${identity.sub}`];
  if (identity.email) lines.push(`  email:     ${identity.email}`);
  lines.push(`  groups:    ${identity.groups.length > 0 ? identity.groups.join(', ') : '(none)'}`);
  lines.push(`  issuer:    ${identity.issuer}`);
  if (identity.expiresAt) {
    const past = Date.parse(identity.expiresAt) <= now;
    lines.push(`  token:     ${past ? 'expired' : 'valid until'} ${identity.expiresAt}${past ? ' (renewed when the Bifrost Edge agent runs; if that fails, run `bifrost-edge login`)' : ' (renewed automatically)'}`);
  }
  lines.push(`  stored in: ${storage.backend} — ${storage.location}`);
  return lines;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
