import { EventEmitter } from 'node:events';
import type * as client from 'openid-client';
import { silentLogger, type Logger } from '../log.js';
import type { AuthConfig } from './auth-config.js';
import { AuthError, isAuthError, SIGN_IN_AGAIN, type AuthErrorCode } from './auth-error.js';
import { identityFromTokens, type Identity } from './identity.js';
import { login, type LoginOptions } from './oidc-login.js';
import { discoverProvider } from './provider-discovery.js';
import { isFresh, refreshDelayMs, retryDelayMs } from './refresh-schedule.js';
import { idTokenExpiresAt, type SessionTokens } from './session-tokens.js';
import { refreshSessionTokens, revokeSessionTokens, type RevocationOutcome } from './token-grants.js';
import { TokenStoreError, type TokenStore } from './token-store.js';

/**
 * Renewal failures only a new sign-in mends: the provider refused the refresh token or the app, or its
 * answer failed validation. Anything else (an outage page, rate limiting, a captive portal, a timeout)
 * decided nothing about this device and is retried with backoff.
 */
const RENEWAL_NEEDS_SIGN_IN: ReadonlySet<AuthErrorCode> = new Set(['refresh_rejected', 'session_expired', 'id_token_invalid', 'id_token_expired', 'issuer_mismatch']);

/** A token handed out must stay valid at least this long, so a request made with it doesn't die mid-flight. */
const TOKEN_MIN_VALIDITY_MS = 30_000;

export interface RefreshFailure {
  error: AuthError;
  /**
   * True when only a new sign-in helps (refresh token revoked/expired, none issued): the tray shows
   * "Sign in again". False when the provider was unreachable and renewal will be retried.
   */
  signInRequired: boolean;
  /** ISO time of the next automatic attempt, when one is scheduled. */
  nextAttemptAt?: string;
}

export interface SignedOut {
  /** What happened to the tokens at the provider; local copies are deleted in every case. */
  revocation: RevocationOutcome | { status: 'nothing_to_revoke' };
}

/** Events a session emits. Enforcement keeps its last policy on refresh_failed: it only informs. */
export interface SessionEvents {
  signed_in: [identity: Identity];
  signed_out: [details: SignedOut];
  refreshed: [identity: Identity];
  refresh_failed: [failure: RefreshFailure];
}

/**
 * What other parts of Edge (enrollment, attribution, audit, tray) need from the session: who is
 * signed in and fresh tokens. Tokens are fetched per use and never cached elsewhere.
 */
export interface AuthSession {
  getIdentity(): Identity | undefined;
  /** A valid access token, refreshed first when close to expiry. Throws AuthError `not_signed_in` / `session_expired`. */
  getAccessToken(): Promise<string>;
  /** A valid ID token (e.g. for enrollment), refreshed first when expired. Same errors as getAccessToken. */
  getIdToken(): Promise<string>;
  on<K extends keyof SessionEvents>(event: K, listener: (...args: SessionEvents[K]) => void): this;
  off<K extends keyof SessionEvents>(event: K, listener: (...args: SessionEvents[K]) => void): this;
}

export interface SessionManagerOptions {
  config: AuthConfig;
  store: TokenStore;
  /** Provider discovery; defaults to discoverProvider(config). Its result is cached once it succeeds. */
  discover?: () => Promise<client.Configuration>;
  log?: Logger;
  now?: () => number;
}

export type SignInOptions = Omit<LoginOptions, 'config' | 'provider' | 'now'>;

export interface SignInResult {
  identity: Identity;
  /** Things the employee should know (no refresh token issued, weak token storage, ...). */
  warnings: string[];
}

/**
 * Owns the signed-in session: restores it from the token store, renews it before expiry, saves
 * every renewal (refresh tokens rotate), and signs out by revoking at the provider and deleting the
 * local copy. Run one per device in the long-lived agent: two processes refreshing the same rotating
 * refresh token would invalidate each other.
 */
export class SessionManager extends EventEmitter<SessionEvents> implements AuthSession {
  private readonly config: AuthConfig;
  private readonly store: TokenStore;
  private readonly discover: () => Promise<client.Configuration>;
  private readonly log: Logger;
  private readonly now: () => number;
  private provider: client.Configuration | undefined;
  private tokens: SessionTokens | undefined;
  private refreshing: Promise<SessionTokens> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failedAttempts = 0;
  /** Set once a refresh was refused for good: no more automatic attempts until the next sign-in. */
  private signInRequired = false;
  /** Bumped by sign-in/sign-out so a refresh that finishes afterwards can't resurrect old tokens. */
  private generation = 0;
  /**
   * An ID token a successful renewal left as it was (the provider reissues none on refresh, OIDC Core
   * §12.2) although it expires within moments: only a new sign-in brings another one.
   */
  private idTokenNotReissued: string | undefined;

  constructor(options: SessionManagerOptions) {
    super();
    this.config = options.config;
    this.store = options.store;
    this.discover = options.discover ?? (() => discoverProvider(options.config));
    this.log = options.log ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /**
   * Restores the saved session, if any, and schedules its renewal (at once when already due).
   * Throws TokenStoreError when the saved session is damaged; signIn() replaces it.
   */
  async start(): Promise<Identity | undefined> {
    this.useTokens(await this.loadMatchingSession());
    return this.getIdentity();
  }

  /**
   * Adopts a sign-in that another process saved (`bifrost-edge login` next to a running agent) while
   * this one has none, or only one that can no longer be renewed (the provider refused it, or it ran
   * out): the agent enrolls with it without a restart. Emits `signed_in` and returns the identity when
   * it adopts one; undefined when there was nothing (newer) to adopt.
   *
   * Cheap while the session is healthy (no store access); while it needs a new sign-in, every call
   * reads the store, which is what a person who just ran `bifrost-edge login` is waiting for.
   */
  async adoptSavedSignIn(): Promise<Identity | undefined> {
    const held = this.tokens;
    if (held && !this.needsNewSignIn(held)) return undefined;
    const generation = this.generation;
    const saved = await this.loadMatchingSession().catch(() => undefined);
    // A sign-in, sign-out or renewal meanwhile decided for itself; the saved copy of the dead session is no news.
    if (!saved || generation !== this.generation || this.tokens !== held) return undefined;
    if (held && saved.receivedAt <= held.receivedAt) return undefined;
    this.useTokens(saved);
    const identity = identityFromTokens(saved, this.config.groupsClaim);
    this.emit('signed_in', identity);
    return identity;
  }

  /** Only a new sign-in helps: the provider refused renewal, or the tokens ran out with nothing to renew them. */
  private needsNewSignIn(tokens: SessionTokens): boolean {
    return this.signInRequired || (!tokens.refreshToken && !isFresh(tokens.accessTokenExpiresAt, this.now(), 0));
  }

  /**
   * Drops this process's sign-in when another process deleted the saved one (`bifrost-edge logout`
   * next to a running agent, which also revoked the tokens), so the agent stops acting for that
   * person now rather than at its next restart. Emits `signed_out` when it does; true then.
   */
  async noticeSavedSignOut(): Promise<boolean> {
    if (!this.tokens || this.refreshing) return false;
    const generation = this.generation;
    // Damaged or unreadable is not signed out: the running session stays until someone decides.
    if (await this.store.hasSaved().catch(() => true)) return false;
    // A sign-in, sign-out or renewal meanwhile decided for itself.
    if (!this.tokens || this.refreshing || generation !== this.generation) return false;
    this.useTokens(undefined);
    this.log.info('signed out: the saved sign-in was deleted by another Bifrost Edge process (bifrost-edge logout)');
    // Whoever deleted the tokens revoked them; there is nothing left here to revoke.
    this.emit('signed_out', { revocation: { status: 'nothing_to_revoke' } });
    return true;
  }

  /** Stops background renewal (the tokens stay saved). */
  stop(): void {
    this.clearTimer();
  }

  getIdentity(): Identity | undefined {
    return this.tokens ? identityFromTokens(this.tokens, this.config.groupsClaim) : undefined;
  }

  /** Same as getIdentity(): {sub, email, name, groups, issuer, expiresAt}, or undefined when signed out. */
  whoami(): Identity | undefined {
    return this.getIdentity();
  }

  isSignInRequired(): boolean {
    return this.signInRequired;
  }

  /** Runs the browser sign-in, saves the tokens, and starts renewing them. */
  async signIn(options: SignInOptions = {}): Promise<SignInResult> {
    const warnings: string[] = [];
    const provider = await this.getProvider();
    const tokens = await login({
      ...options,
      config: this.config,
      provider,
      now: this.now,
      onUserInfoError: (error) => {
        options.onUserInfoError?.(error);
        this.log.warn('could not read userinfo; using ID token claims only', { error: errorMessage(error) });
      },
    });
    try {
      await this.store.save(tokens);
    } catch (error) {
      // Tokens nobody can find again are only a liability: withdraw them, then report why.
      await revokeSessionTokens(provider, tokens, this.config.issuer);
      throw error;
    }
    this.useTokens(tokens);
    if (!tokens.refreshToken) {
      const until = tokens.accessTokenExpiresAt;
      warnings.push(`The identity provider issued no refresh token, so this sign-in ends${until ? ` at ${new Date(until).toLocaleString()}` : ' when the current token expires'} and you will be asked to sign in again. IT can allow the offline_access scope (some providers also need auth.prompt "consent").`);
    }
    const storage = this.store.describe();
    if (storage.warning) warnings.push(storage.warning);
    const identity = identityFromTokens(tokens, this.config.groupsClaim);
    this.emit('signed_in', identity);
    return { identity, warnings };
  }

  /**
   * Revokes the tokens at the provider (when it has a revocation endpoint) and deletes the saved
   * session. Local deletion happens even when the provider can't be reached; the outcome says so.
   */
  async signOut(): Promise<SignedOut> {
    // Let a renewal under way finish first: its fresh tokens are the ones to revoke, and it must not
    // save them after the store was cleared.
    await this.refreshing?.catch(() => undefined);
    // Only tokens of the configured provider are sent to its revocation endpoint; others are just deleted.
    const tokens = this.tokens ?? (await this.loadMatchingSession().catch((error: unknown) => {
      // A locked keyring is not damage: the session is intact and would be used again once it answers,
      // so deleting it now would leave its tokens valid at the provider. Say so, change nothing.
      if (error instanceof TokenStoreError && error.code === 'unavailable') throw keyringLocked(error, this.store.describe().location);
      this.log.warn('saved sign-in unreadable; deleting it without revoking', { error: errorMessage(error) });
      return undefined;
    }));
    this.clearTimer();
    this.generation++;
    let revocation: SignedOut['revocation'] = { status: 'nothing_to_revoke' };
    if (tokens) {
      try {
        revocation = await revokeSessionTokens(await this.getProvider(), tokens, this.config.issuer);
      } catch (error) {
        revocation = { status: 'failed', error: isAuthError(error) ? error : new AuthError('provider_unreachable', errorMessage(error)) };
      }
      if (revocation.status === 'failed') this.log.warn('token revocation failed; deleted the local copy anyway', { error: revocation.error.message });
    }
    await this.store.clear();
    this.tokens = undefined;
    this.signInRequired = false;
    this.failedAttempts = 0;
    const details: SignedOut = { revocation };
    this.emit('signed_out', details);
    return details;
  }

  /** Renews the tokens now. Emits `refreshed`, or `refresh_failed` and rethrows. */
  async refresh(): Promise<Identity> {
    const tokens = await this.refreshOnce();
    return identityFromTokens(tokens, this.config.groupsClaim);
  }

  async getAccessToken(): Promise<string> {
    const tokens = await this.freshTokens((t) => t.accessTokenExpiresAt, 'access token');
    return tokens.accessToken;
  }

  async getIdToken(): Promise<string> {
    const current = this.tokens;
    // A renewal already showed that the provider does not reissue this ID token: another would only rotate the refresh token.
    if (current && current.idToken === this.idTokenNotReissued) {
      if (isFresh(idTokenExpiresAt(current), this.now(), 0)) return current.idToken;
      throw idTokenNotReissued(current, this.config.issuer);
    }
    try {
      return (await this.freshTokens((t) => idTokenExpiresAt(t), 'ID token')).idToken;
    } catch (error) {
      if (this.tokens && this.tokens.idToken === this.idTokenNotReissued) throw idTokenNotReissued(this.tokens, this.config.issuer);
      throw error;
    }
  }

  private async freshTokens(expiry: (tokens: SessionTokens) => number | undefined, what: string): Promise<SessionTokens> {
    let current = this.tokens;
    if (!current) throw notSignedIn();
    if (isFresh(expiry(current), this.now(), TOKEN_MIN_VALIDITY_MS)) return current;
    // The person may have signed in again in a terminal since renewal was refused.
    if (this.needsNewSignIn(current) && (await this.adoptSavedSignIn())) {
      current = this.tokens;
      if (!current) throw notSignedIn();
      if (isFresh(expiry(current), this.now(), TOKEN_MIN_VALIDITY_MS)) return current;
    }
    let failure: unknown;
    if (!this.signInRequired) {
      try {
        const renewed = await this.refreshOnce();
        if (isFresh(expiry(renewed), this.now(), 0)) return renewed;
      } catch (error) {
        failure = error;
      }
    }
    // Still valid for a few seconds (e.g. the provider is briefly down): better than failing the caller.
    if (isFresh(expiry(current), this.now(), 0)) return current;
    throw expired(what, failure);
  }

  /** One refresh at a time: concurrent callers share it (a rotated refresh token works only once). */
  private refreshOnce(): Promise<SessionTokens> {
    this.refreshing ??= this.runRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async runRefresh(): Promise<SessionTokens> {
    let generation = this.generation;
    this.clearTimer();
    try {
      const current = await this.newestTokens();
      if (!current) throw notSignedIn();
      // Adopting another person's sign-in starts a generation (and a schedule) of its own; renew within it.
      generation = this.generation;
      this.clearTimer();
      const renewed = await refreshSessionTokens(await this.getProvider(), this.config, current, {
        now: this.now,
        onUserInfoError: (error) => this.log.debug('userinfo refresh failed; keeping previous profile claims', { error: errorMessage(error) }),
      });
      if (generation !== this.generation) return renewed;
      // `bifrost-edge logout` or `login` in another process while the answer was on its way: their
      // decision stands, and saving this renewal would undo it. Unreadable is no decision.
      const saved = await this.store.load().catch(() => current);
      if (generation !== this.generation) return renewed;
      if (!saved || saved.receivedAt > current.receivedAt) return await this.yieldRenewal(renewed, saved);
      if (renewed.idToken === current.idToken && !isFresh(idTokenExpiresAt(renewed), this.now(), TOKEN_MIN_VALIDITY_MS)) this.idTokenNotReissued = renewed.idToken;
      this.tokens = renewed;
      this.failedAttempts = 0;
      this.signInRequired = false;
      await this.store.save(renewed).catch((error: unknown) => {
        // The in-memory session is fine; a restart will need a new sign-in if the old refresh token rotated away.
        this.log.error('could not save renewed sign-in', { error: errorMessage(error) });
      });
      this.schedule();
      this.emit('refreshed', identityFromTokens(renewed, this.config.groupsClaim));
      return renewed;
    } catch (error) {
      const authError = isAuthError(error) ? error : new AuthError('provider_unreachable', `Renewing the sign-in failed: ${errorMessage(error)}.`, { cause: error });
      if (generation === this.generation && authError.code !== 'not_signed_in') this.reportRefreshFailure(authError);
      throw authError;
    }
  }

  /**
   * Gives way to a sign-out or sign-in another process saved while this renewal was under way: the
   * renewed tokens are withdrawn at the provider (nobody else knows them), then the session follows
   * what is saved. Returns the adopted sign-in; throws not_signed_in when there is none.
   */
  private async yieldRenewal(renewed: SessionTokens, saved: SessionTokens | undefined): Promise<SessionTokens> {
    // A refresh token that was not rotated is still the saved session's too: revoking it would end that one.
    const shared = saved !== undefined && saved.refreshToken === renewed.refreshToken;
    const revocation: SignedOut['revocation'] = shared ? { status: 'nothing_to_revoke' } : await revokeSessionTokens(await this.getProvider(), renewed, this.config.issuer);
    if (revocation.status === 'failed') this.log.warn('could not revoke the tokens of a renewal another process overtook', { error: revocation.error.message });
    const adopted = saved && saved.issuer === this.config.issuer && saved.clientId === this.config.clientId ? saved : undefined;
    if (adopted) {
      this.log.info('adopted the sign-in saved by another Bifrost Edge process (bifrost-edge login) during a renewal');
      if (this.adoptNewerSession(adopted) === 'same_person') {
        this.schedule();
        this.emit('refreshed', identityFromTokens(adopted, this.config.groupsClaim));
      }
      return adopted;
    }
    this.useTokens(undefined);
    this.log.info('signed out: another Bifrost Edge process signed out (bifrost-edge logout) during a renewal, which was dropped');
    this.emit('signed_out', { revocation });
    throw notSignedIn();
  }

  /**
   * Takes over a newer session another process saved (`bifrost-edge login`). The same person's is
   * taken like a renewal, quietly (the caller announces it); another person's is a new sign-in,
   * announced with `signed_in` so enrollment and policy follow that person, not only attribution.
   */
  private adoptNewerSession(saved: SessionTokens): 'same_person' | 'new_sign_in' {
    if (this.tokens && this.tokens.idTokenClaims.sub === saved.idTokenClaims.sub) {
      this.tokens = saved;
      this.failedAttempts = 0;
      this.signInRequired = false;
      return 'same_person';
    }
    this.useTokens(saved);
    const identity = identityFromTokens(saved, this.config.groupsClaim);
    this.log.info('signed in: adopted the sign-in another Bifrost Edge process saved (bifrost-edge login)', { sub: identity.sub });
    this.emit('signed_in', identity);
    return 'new_sign_in';
  }

  private reportRefreshFailure(error: AuthError): void {
    const signInRequired = RENEWAL_NEEDS_SIGN_IN.has(error.code);
    let nextAttemptAt: string | undefined;
    if (signInRequired) {
      this.signInRequired = true;
    } else {
      this.failedAttempts++;
      const delay = retryDelayMs(this.failedAttempts);
      nextAttemptAt = new Date(this.now() + delay).toISOString();
      this.setTimer(delay);
    }
    this.log.warn('sign-in renewal failed', { code: error.code, signInRequired, nextAttemptAt });
    this.emit('refresh_failed', { error, signInRequired, ...(nextAttemptAt ? { nextAttemptAt } : {}) });
  }

  /**
   * Another process (a `bifrost-edge login` next to the running agent) may have saved a newer
   * session; refreshing with our older, rotated-away refresh token would fail, so adopt theirs
   * (another person's as a new sign-in).
   */
  private async newestTokens(): Promise<SessionTokens | undefined> {
    const saved = await this.loadMatchingSession().catch(() => undefined);
    if (saved && (!this.tokens || saved.receivedAt > this.tokens.receivedAt)) this.adoptNewerSession(saved);
    return this.tokens;
  }

  private async loadMatchingSession(): Promise<SessionTokens | undefined> {
    const saved = await this.store.load();
    if (!saved) return undefined;
    if (saved.issuer !== this.config.issuer || saved.clientId !== this.config.clientId) {
      // IT pointed the device at another provider or app: that old session must not be used.
      this.log.info('saved sign-in is for another identity provider or client; ignoring it', { savedIssuer: saved.issuer, issuer: this.config.issuer });
      return undefined;
    }
    return saved;
  }

  private async getProvider(): Promise<client.Configuration> {
    this.provider ??= await this.discover();
    return this.provider;
  }

  /**
   * Makes `tokens` this process's session (none: signed out) with a clean slate: a renewal already
   * under way for the previous one sees the new generation and keeps its result to itself.
   */
  private useTokens(tokens: SessionTokens | undefined): void {
    this.generation++;
    this.tokens = tokens;
    this.signInRequired = false;
    this.failedAttempts = 0;
    this.schedule();
  }

  private schedule(): void {
    this.clearTimer();
    if (!this.tokens || this.signInRequired) return;
    if (!this.tokens.refreshToken) {
      // Nothing to renew with: tell the tray when the session actually runs out.
      const expiresAt = this.tokens.accessTokenExpiresAt;
      if (expiresAt !== undefined) this.setTimer(Math.max(0, expiresAt - this.now()), () => this.reportRefreshFailure(expired('access token')));
      return;
    }
    this.setTimer(refreshDelayMs(this.tokens.receivedAt, this.tokens.accessTokenExpiresAt, this.now()));
  }

  private setTimer(delayMs: number, action: () => void = () => void this.refreshOnce().catch(() => undefined)): void {
    this.clearTimer();
    this.timer = setTimeout(action, Math.min(delayMs, 2 ** 31 - 1));
    // Renewal must never keep a finished CLI command alive.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function notSignedIn(): AuthError {
  return new AuthError('not_signed_in', 'Nobody is signed in to Bifrost Edge on this device. Sign in from the tray menu or with `bifrost-edge login`.');
}

function expired(what: string, cause?: unknown): AuthError {
  const because = isAuthError(cause) ? cause.message : `The ${what} could not be renewed. ${SIGN_IN_AGAIN}`;
  return new AuthError('session_expired', `Your Bifrost Edge sign-in has expired. ${because}`, cause === undefined ? undefined : { cause });
}

function keyringLocked(error: TokenStoreError, location: string): TokenStoreError {
  return new TokenStoreError('unavailable', `${error.message} Nothing was signed out: the saved sign-in stays until it can be revoked at the identity provider, so run \`bifrost-edge logout\` again once the keyring answers. If that keyring is gone for good, delete the saved sign-in by hand: ${location}.`, { cause: error });
}

function idTokenNotReissued(tokens: SessionTokens, issuer: string): AuthError {
  const expiresAt = idTokenExpiresAt(tokens);
  const when = expiresAt === undefined ? '' : ` (at ${new Date(expiresAt).toLocaleString()})`;
  return new AuthError('id_token_expired', `The ID token from your Bifrost Edge sign-in has expired${when}, and the identity provider (${issuer}) does not issue a new one when the sign-in is renewed, so enrolling this device with Edge Control needs a new sign-in. ${SIGN_IN_AGAIN} The access token is still renewed meanwhile. If this keeps happening, ask IT to have the provider reissue ID tokens on refresh.`);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
