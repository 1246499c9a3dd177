import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { silentLogger, type Logger } from '../../log.js';
import type { DeviceDescription, SigningPublicKey } from '../protocol/enrollment.js';
import { bundleEtag, trustedKeyMap } from '../protocol/bundle-signature.js';
import type { HeartbeatRequestInput, HeartbeatResponse } from '../protocol/heartbeat.js';
import type { PolicyEvent } from '../protocol/policy-sync.js';
import type { SignedPolicyBundle } from '../protocol/policy-bundle.js';
import { PolicyListeners, type ActivePolicy, type PolicySync, type SyncOutcome } from './active-policy.js';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffSettings } from './backoff.js';
import { judgeSignedBundle } from './bundle-acceptance.js';
import { ControlReachability, REFUSES_THIS_DEVICE, type ControlReachabilityState } from './control-reachability.js';
import { ControlRequestError, DEFAULT_REQUEST_TIMEOUT_MS, fetchPolicy, type CallOptions, openPolicyStream, postEnrollment, postHeartbeat } from './control-api.js';
import type { DeviceCredentialStore } from './device-credential-store.js';
import { clearCachedPolicy, clearEnrollmentState, ENROLLMENT_FILE, loadCachedPolicy, saveCachedPolicy, saveEnrollmentState, type EnrollmentRecord } from './device-state-files.js';
import { PlainFileCredentialStore } from './plain-file-credential-store.js';
import { PolicyStreamFollower } from './policy-stream-follower.js';
import { restoreEnrollment } from './saved-enrollment.js';
import { keySetChange, trustMapOf, unpinnedKeys } from './signing-key-trust.js';
import { Sleeper } from './sleeper.js';

/**
 * Credential refusals in a row (each answered by enrolling again) after which the device stops enrolling
 * again: a server that refuses each fresh credential right after enrolling the device (replicas that do
 * not share device records) would otherwise register a new device at every attempt, forever. Four: the
 * saved credential, then three fresh ones.
 */
const REFUSALS_BEFORE_GIVING_UP = 4;

/** How a device proves who it is when it (re-)enrolls. */
export type EnrollmentCredential = { method: 'oidc'; token: string; access_token?: string } | { method: 'virtual_key'; virtual_key: string };

export interface PolicySyncOptions {
  /** Base URL of the Edge Control server, e.g. https://edge-control.example.com */
  controlUrl: string;
  /** Owner-only folder for enrollment.json and policy-bundle.json (e.g. `<dataDir>/control`). */
  stateDir: string;
  /**
   * Where the device credential is kept at rest. Default: a plain 0600 file in `stateDir`
   * (device-credential.json), as protected as it always was; createDeviceCredentialStore() gives the
   * OS keychain. A credential found in an older enrollment.json is moved into this store at start.
   */
  credentialStore?: DeviceCredentialStore;
  /**
   * Used to enroll when there is no saved enrollment, or the server no longer knows this device.
   * A function is called at each attempt, so it can hand out a freshly refreshed OIDC token.
   */
  credential?: EnrollmentCredential | (() => Promise<EnrollmentCredential>);
  /**
   * Bundle-signing public keys (SPKI PEM) to trust. When given, only these are trusted: keys the
   * server offers at enrollment or announces in bundles are ignored, so a server key rotation needs a
   * configuration push of the new key before the server promotes it. Otherwise the device trusts the
   * enrollment answer's keys and then follows the key set announced in each signed bundle.
   */
  pinnedPublicKeys?: string[];
  device?: Partial<DeviceDescription>;
  log?: Logger;
  /** Tuning (tests shorten these). */
  timing?: {
    backoff?: BackoffSettings;
    /** Floor for the polling interval; the bundle's `sync.poll_interval_seconds` is used above it. Default 5. */
    minPollSeconds?: number;
    /** A push stream silent for this long (no event, no heartbeat) is considered dead. Default 45 000. */
    streamIdleMs?: number;
    requestTimeoutMs?: number;
  };
}

export interface EnrolledDevice {
  controlUrl: string;
  deviceId: string;
  /** Bearer credential for Edge Control calls (audit upload, heartbeat). Never log it. */
  credential: string;
}

export interface PolicySyncClient extends PolicySync {
  /** The device's Edge Control identity once enrolled (for the audit shipper). */
  enrolledDevice(): EnrolledDevice | undefined;
  /** Resolves once enrolled (or rejects with the reason when closed first). */
  whenEnrolled(): Promise<EnrolledDevice>;
  /** Sends a heartbeat; fetches the policy at once when the answer says a newer version exists. */
  sendHeartbeat(heartbeat: HeartbeatRequestInput): Promise<HeartbeatResponse>;
  /** True while the push stream is connected (polling is the fallback otherwise). */
  isStreaming(): boolean;
  /** Whether Edge Control answers, and the last problem talking to it (control-reachability.ts). */
  reachability(): ControlReachabilityState;
  /** Called with every change of reachability or of its problem; returns an unsubscribe function. */
  onReachabilityChange(listener: (state: ControlReachabilityState) => void): () => void;
  /**
   * Someone signed in: enroll for them now. A device enrolled for another subject forgets that
   * enrollment (its credential and keys were that person's) and enrolls again; a device waiting to
   * enroll stops waiting out its backoff. The previous person's bundle is suspended meanwhile (see
   * suspendForNewPerson).
   */
  signedIn(subject: string): Promise<void>;
  /**
   * A way to enroll may have appeared (a virtual key saved by `bifrost-edge login --virtual-key`): a
   * device waiting to enroll tries now instead of waiting out its backoff. True when it does.
   */
  credentialMayHaveChanged(): boolean;
}

/**
 * Starts policy sync with an Edge Control server. Resolves as soon as the cached bundle (if any) is
 * loaded, so an offline device enforces its last good policy immediately; enrollment, the first fetch,
 * the push stream and fallback polling then run in the background until `close()`.
 */
export async function startPolicySync(options: PolicySyncOptions): Promise<PolicySyncClient> {
  const client = new EdgeControlPolicySync(options);
  await client.start();
  return client;
}

/** The enrollment in use: the record from enrollment.json plus the credential from the credential store. */
type ActiveEnrollment = EnrollmentRecord & { device_credential: string };

class EdgeControlPolicySync implements PolicySyncClient {
  private readonly log: Logger;
  private readonly listeners: PolicyListeners;
  private readonly sleeper = new Sleeper();
  /** Aborted by close(): cancels in-flight calls so closing never waits out a request timeout. */
  private readonly closing = new AbortController();
  private readonly backoff: BackoffSettings;
  private readonly minPollSeconds: number;
  private readonly streamIdleMs: number;
  private readonly requestTimeoutMs: number;
  private readonly credentialStore: DeviceCredentialStore;
  private readonly pinned: Map<string, KeyObject> | undefined;
  private policy: ActivePolicy | undefined;
  /**
   * The previous person's policy without their keys and identity, enforced after someone else signed
   * in until that person's own bundle arrives. Never a version floor: their first bundle replaces it.
   */
  private suspended: ActivePolicy | undefined;
  private enrollment: ActiveEnrollment | undefined;
  /**
   * Why the current enrollment must be replaced although the server still accepts its credential
   * (bundles are signed by a key it does not know). It keeps serving uploads until the new one exists.
   */
  private replacing: string | undefined;
  /**
   * Whether an untrusted signer may trigger a re-enrollment. Spent by one, and earned back only by
   * accepting a bundle from the network: a server (or an impostor) whose fresh enrollment still does
   * not vouch for the signer cannot make the device enroll in a loop.
   */
  private mayReenrollForUnknownKey = false;
  private trusted = new Map<string, KeyObject>();
  /**
   * The device id of a saved enrollment whose credential cannot be used: the cached bundle must still
   * have been issued for it (the enrollment in use answers that question otherwise).
   */
  private savedDeviceId: string | undefined;
  /** Announced keys a pinned device was already warned about. */
  private readonly unpinnedWarned = new Set<string>();
  private closed = false;
  private stream: PolicyStreamFollower | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** The next fetch after one failed while the policy is unconfirmed and the stream is up (fetchAgainWhileUnconfirmed). */
  private confirmationRetry: NodeJS.Timeout | undefined;
  private unconfirmedFetchFailures = 0;
  private syncing: Promise<SyncOutcome> | undefined;
  private syncAgain = false;
  private running: Promise<void> | undefined;
  /** Retrying the save of an enrollment record that could not be written (keepSavingEnrollment). */
  private savingEnrollment: Promise<void> | undefined;
  /** Credential rejections in a row; re-enrollment backs off on them so a confused server is not hammered. */
  private rejections = 0;
  /** Set once REFUSALS_BEFORE_GIVING_UP rejections in a row stopped re-enrollment; a sign-in tries again. */
  private refusedForGood = false;
  private readonly enrolledWaiters = new Set<{ resolve: (d: EnrolledDevice) => void; reject: (e: Error) => void }>();
  private readonly reachabilityListeners = new Set<(state: ControlReachabilityState) => void>();
  private readonly reachable: ControlReachability;
  /** What the last reachability change said, to log only the transitions. */
  private wasReachable = true;

  constructor(private readonly options: PolicySyncOptions) {
    this.log = options.log ?? silentLogger;
    this.listeners = new PolicyListeners(this.log);
    this.reachable = new ControlReachability((state) => this.reachabilityChanged(state));
    this.backoff = options.timing?.backoff ?? DEFAULT_BACKOFF;
    this.minPollSeconds = options.timing?.minPollSeconds ?? 5;
    this.streamIdleMs = options.timing?.streamIdleMs ?? 45_000;
    this.requestTimeoutMs = options.timing?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.credentialStore = options.credentialStore ?? new PlainFileCredentialStore(options.stateDir);
    const pins = options.pinnedPublicKeys;
    this.pinned = pins && pins.length > 0 ? trustedKeyMap(pins) : undefined;
  }

  async start(): Promise<void> {
    const storage = this.credentialStore.describe();
    this.log.info('device credential storage', { backend: storage.backend, location: storage.location, ...(storage.notes ? { notes: storage.notes } : {}) });
    if (storage.warning) this.log.warn(storage.warning);
    const restored = await restoreEnrollment({
      stateDir: this.options.stateDir,
      controlUrl: this.options.controlUrl,
      store: this.credentialStore,
      // A credential saved by the default store before a protected one was configured moves over.
      ...(this.options.credentialStore ? { previousStore: new PlainFileCredentialStore(this.options.stateDir) } : {}),
      log: this.log,
    });
    if (restored.kind === 'enrolled') {
      this.adoptEnrollment({ ...restored.record, device_credential: restored.credential });
      this.mayReenrollForUnknownKey = true;
    } else {
      // Without a usable credential the device enrolls again; its saved keys still verify the cache.
      this.trusted = this.pinned ?? (restored.kind === 'credential_unusable' ? trustMapOf(restored.record.signing_keys) : new Map());
      if (restored.kind === 'credential_unusable') this.savedDeviceId = restored.record.device_id;
    }
    await this.loadCache();
    this.kick();
  }

  current(): ActivePolicy | undefined {
    return this.policy ?? this.suspended;
  }

  onBundle(listener: (policy: ActivePolicy) => void): () => void {
    return this.listeners.add(listener);
  }

  isStreaming(): boolean {
    return this.stream?.connected ?? false;
  }

  reachability(): ControlReachabilityState {
    return this.reachable.state();
  }

  onReachabilityChange(listener: (state: ControlReachabilityState) => void): () => void {
    this.reachabilityListeners.add(listener);
    return () => this.reachabilityListeners.delete(listener);
  }

  private reachabilityChanged(state: ControlReachabilityState): void {
    if (this.closed) return;
    if (state.reachable !== this.wasReachable) {
      this.wasReachable = state.reachable;
      if (state.reachable) this.log.info('Edge Control answers again');
      else this.log.warn(`Edge Control is unreachable (${state.problem ?? 'its calls failed'}); the policy's fail mode applies until it answers (fail-open keeps enforcing the current policy, fail-closed stops AI requests)`);
    }
    for (const listener of [...this.reachabilityListeners]) {
      try {
        listener(state);
      } catch (err) {
        this.log.error(`a listener failed while taking Edge Control's reachability: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Runs one call that keeps the policy current and tells the reachability judge if it failed; the
   * caller reports an answer once it has acted on it (answered, or reached for a step towards the
   * policy). A call cut off by close() says nothing about Edge Control. `leadsToEnrollment`: refusals the
   * device answers by enrolling again, which do not confirm the policy (the fresh one comes after).
   */
  private async failuresJudged<T>(what: string, call: Promise<T>, leadsToEnrollment: (err: unknown) => boolean = () => false): Promise<T> {
    try {
      return await call;
    } catch (err) {
      if (!this.closed) this.reachable.failed(what, err, { confirms: !leadsToEnrollment(err) });
      throw err;
    }
  }

  enrolledDevice(): EnrolledDevice | undefined {
    const e = this.enrollment;
    return e ? { controlUrl: e.control_url, deviceId: e.device_id, credential: e.device_credential } : undefined;
  }

  whenEnrolled(): Promise<EnrolledDevice> {
    const now = this.enrolledDevice();
    if (now) return Promise.resolve(now);
    if (this.closed) return Promise.reject(new Error('policy sync is closed'));
    return new Promise((resolve, reject) => this.enrolledWaiters.add({ resolve, reject }));
  }

  async sendHeartbeat(heartbeat: HeartbeatRequestInput): Promise<HeartbeatResponse> {
    const device = this.enrolledDevice();
    if (!device) throw new Error('cannot send a heartbeat before the device is enrolled');
    const answer = await postHeartbeat(device.controlUrl, device.credential, this.confirmedVersionOnly(heartbeat), this.callOptions());
    const enforced = this.policy?.source === 'edge-control' ? this.policy.bundle.version : 0;
    if (answer.policy && answer.policy.version > enforced) void this.syncNow();
    return answer;
  }

  /**
   * The server numbers this device's bundles above the version a heartbeat reports when that is above
   * its own (its database was restored from a backup), so a heartbeat reports only a version that
   * counts as this device's floor: not an unconfirmed bundle from the cache (perhaps copied from
   * another enrollment), nor the previous person's suspended one.
   */
  private confirmedVersionOnly(heartbeat: HeartbeatRequestInput): HeartbeatRequestInput {
    if (heartbeat.policy_version === undefined || heartbeat.policy_version === this.versionFloor()?.version) return heartbeat;
    const { policy_version: _unconfirmed, ...rest } = heartbeat;
    return rest;
  }

  syncNow(): Promise<SyncOutcome> {
    if (this.syncing) {
      // A push arrived while fetching: fetch once more afterwards so the newest version is not missed.
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      let outcome: SyncOutcome;
      do {
        this.syncAgain = false;
        outcome = await this.fetchOnce();
      } while (this.syncAgain && !this.closed);
      return outcome;
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.stream?.stop();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.confirmationRetry) clearTimeout(this.confirmationRetry);
    this.sleeper.wakeAll();
    for (const w of this.enrolledWaiters) w.reject(new Error('policy sync closed before the device enrolled'));
    this.enrolledWaiters.clear();
    await Promise.allSettled([this.running, this.syncing, this.savingEnrollment]);
  }

  // ---- enrollment -----------------------------------------------------------------------------

  private adoptEnrollment(enrollment: ActiveEnrollment): void {
    this.enrollment = enrollment;
    this.replacing = undefined;
    this.trusted = this.pinned ?? trustMapOf(enrollment.signing_keys);
    const device = this.enrolledDevice()!;
    for (const w of this.enrolledWaiters) w.resolve(device);
    this.enrolledWaiters.clear();
  }

  /** No enrollment, or one that must be replaced. */
  private needsEnrollment(): boolean {
    return !this.enrollment || this.replacing !== undefined;
  }

  /** Enrolls (retrying with backoff) until it works, the client closes, or there is no way to enroll. */
  private async ensureEnrolled(): Promise<boolean> {
    if (this.rejections > 0 && !this.enrollment) await this.sleeper.sleep(backoffDelayMs(this.rejections - 1, this.backoff));
    for (let attempt = 0; !this.closed && this.needsEnrollment(); attempt++) {
      const source = this.options.credential;
      if (!source) {
        this.log.error('this device is not enrolled with Edge Control and has no credential to enroll with; sign in (or configure a virtual key) to receive policy. Enforcing the cached policy meanwhile.');
        return false;
      }
      try {
        let credential: EnrollmentCredential;
        try {
          credential = typeof source === 'function' ? await source() : source;
        } catch (err) {
          // Nobody signed in yet: status (and a fail-closed refusal) must say why Edge Control has not answered.
          if (!this.closed) this.reachable.couldNotCall('enrollment', err);
          throw err;
        }
        // Tell the server what we enforce, so the new enrollment's bundles are numbered above it.
        const floor = this.versionFloor();
        const enforced = floor ? { policy_version: floor.version } : {};
        const answer = await this.failuresJudged('enrollment', postEnrollment(this.options.controlUrl, { ...credential, device: this.deviceDescription(), ...enforced }, this.callOptions()));
        // Not confirmed yet: the policy comes with the fetch that follows (fetchOnce confirms it once applied).
        if (!this.closed) this.reachable.reached();
        const record: EnrollmentRecord = {
          control_url: this.options.controlUrl,
          device_id: answer.device_id,
          subject: answer.subject,
          signing_keys: answer.signing_keys,
          poll_interval_seconds: answer.poll_interval_seconds,
          enrolled_at: new Date().toISOString(),
        };
        const saved = await this.saveEnrollment(record, answer.device_credential, 0);
        this.adoptEnrollment({ ...record, device_credential: answer.device_credential });
        this.log.info('enrolled with Edge Control', { device_id: answer.device_id, subject: answer.subject.sub });
        if (!saved) this.savingEnrollment = this.keepSavingEnrollment(record.device_id, answer.device_credential);
        return true;
      } catch (err) {
        if (this.closed) break;
        const delay = backoffDelayMs(attempt, this.backoff);
        const refused = err instanceof ControlRequestError && err.isRefusal;
        this.log[refused ? 'error' : 'warn'](`enrollment ${refused ? 'refused' : 'failed'}: ${(err as Error).message}; retrying in ${Math.round(delay / 1000)} s`);
        await this.sleeper.sleep(delay);
      }
    }
    return !this.needsEnrollment();
  }

  /**
   * Writes a new enrollment's record, then stores its credential (a credential without its record would
   * only be refused at the next start). False when the record could not be written: the error, logged at
   * the first attempt, says what to fix, and status shows it until a save works.
   */
  private async saveEnrollment(record: EnrollmentRecord, credential: string, attempt: number): Promise<boolean> {
    try {
      await saveEnrollmentState(this.options.stateDir, record);
    } catch (err) {
      const file = path.join(this.options.stateDir, ENROLLMENT_FILE);
      const problem = `cannot save this device's enrollment in ${file} (${(err as Error).message}): free disk space, or make ${this.options.stateDir} writable for the user Bifrost Edge runs as (and remove anything in the file's place). The enrollment is used from memory meanwhile and the save is retried; a restart before it works enrolls this device again`;
      if (attempt === 0) this.log.error(problem, { device_id: record.device_id });
      else this.log.debug('the enrollment record still cannot be saved', { attempt, reason: (err as Error).message });
      if (!this.closed) this.reachable.deviceProblem(problem);
      return false;
    }
    if (attempt > 0) {
      this.log.info('saved the enrollment record', { device_id: record.device_id, attempts: attempt + 1 });
      this.reachable.deviceProblem(undefined);
    }
    await this.storeCredential(record, credential);
    return true;
  }

  /**
   * Retries saving the enrollment in use with backoff until it works, the enrollment is replaced, or the
   * client closes. Enrolling again instead would register one more device per attempt, and keep a
   * fail-closed device refusing AI requests all along.
   */
  private async keepSavingEnrollment(deviceId: string, credential: string): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      await this.sleeper.sleep(backoffDelayMs(attempt - 1, this.backoff));
      const enrollment = this.enrollment;
      if (this.closed || enrollment?.device_id !== deviceId) break;
      // The record as it is now (a bundle may have announced new keys meanwhile), without the secret.
      const { device_credential: _secret, ...record } = enrollment;
      if (await this.saveEnrollment(record, credential, attempt)) return;
    }
    if (!this.closed) this.reachable.deviceProblem(undefined);
  }

  /**
   * A store that cannot take the credential (keychain locked…) must not stop the device: it keeps
   * the credential in memory for this run, never in plain text, and enrolls again at its next start.
   */
  private async storeCredential(record: EnrollmentRecord, credential: string): Promise<void> {
    try {
      await this.credentialStore.save({ controlUrl: record.control_url, deviceId: record.device_id, credential });
    } catch (err) {
      this.log.error(`could not store this device's Edge Control credential (${(err as Error).message}); it is kept in memory for this run only, and the device will enroll again at its next start`, { device_id: record.device_id });
    }
  }

  private callOptions(): CallOptions {
    return { timeoutMs: this.requestTimeoutMs, signal: this.closing.signal };
  }

  private deviceDescription(): DeviceDescription {
    const d = this.options.device ?? {};
    const out: DeviceDescription = { hostname: d.hostname ?? os.hostname(), os: d.os ?? `${process.platform} ${os.release()}` };
    if (d.agent_version !== undefined) out.agent_version = d.agent_version;
    if (d.installation_id !== undefined) out.installation_id = d.installation_id;
    return out;
  }

  async signedIn(subject: string): Promise<void> {
    if (this.closed) return;
    const enrolledFor = this.enrollment?.subject.sub;
    if (enrolledFor !== undefined && enrolledFor !== subject) {
      this.log.info('a different person signed in; enrolling this device again for them', { was: enrolledFor, now: subject });
      await this.forgetEnrollment();
      await this.suspendForNewPerson(enrolledFor);
    }
    this.credentialMayHaveChanged();
  }

  credentialMayHaveChanged(): boolean {
    if (this.closed) return false;
    this.sleeper.wakeAll();
    if (!this.needsEnrollment() || !this.options.credential) return false;
    if (this.refusedForGood) {
      // Someone acted (signed in, saved a key): try again, from the start of the count.
      this.refusedForGood = false;
      this.rejections = 0;
    }
    this.kick();
    return true;
  }

  /**
   * The bundle in force was issued for the person who signed out: their virtual keys must not carry
   * the next person's traffic, nor their name its audit records, even while the new enrollment cannot
   * complete (server unreachable, or refusing). Listeners get the same policy without keys and
   * subject; the organisation's rules (fail mode, apps, guardrails) stay. The cache goes too, so a
   * restart does not bring the previous person's bundle back.
   */
  private async suspendForNewPerson(previousSubject: string): Promise<void> {
    const policy = this.policy;
    this.policy = undefined;
    await clearCachedPolicy(this.options.stateDir).catch((err: Error) => this.log.warn(`could not delete the previous person's cached policy (${err.message})`));
    if (policy?.source !== 'edge-control') return;
    const { subject: _subject, active_virtual_key_id: _active, ...rules } = policy.bundle;
    const bundle = { ...rules, virtual_keys: [] };
    this.suspended = { source: 'edge-control', bundle, etag: bundleEtag(bundle), origin: policy.origin, received_at: new Date().toISOString() };
    this.log.warn(`the policy bundle of ${previousSubject} is suspended until this device is enrolled for the person now signed in: their virtual keys and identity are no longer used`, { version: policy.bundle.version });
    this.listeners.emit(this.suspended);
  }

  /** Drops the enrollment (state file, stored credential, push stream); the caller enrolls again. */
  private async forgetEnrollment(): Promise<void> {
    this.enrollment = undefined;
    this.replacing = undefined;
    this.stream?.stop();
    await clearEnrollmentState(this.options.stateDir).catch(() => undefined);
    await this.credentialStore.clear().catch((err: Error) => this.log.warn(`could not delete the previous credential from its store (${err.message})`));
  }

  /** The server no longer accepts our credential: forget it and enroll again when we can. */
  private async credentialRejected(reason: string): Promise<void> {
    if (!this.enrollment) return;
    this.rejections++;
    await this.forgetEnrollment();
    if (this.rejections >= REFUSALS_BEFORE_GIVING_UP) {
      this.stopEnrollingAgain(reason);
      return;
    }
    this.log.warn(`the control server rejected this device's credential (${reason}); enrolling again`);
    this.kick();
  }

  /**
   * Edge Control enrolled the device and then refused its fresh credential, again and again. Each
   * enrollment registers a device, so the device stops; the cached policy stays in force, and a
   * fail-closed one (which cannot be confirmed) refuses AI requests: fail-mode.ts says why.
   */
  private stopEnrollingAgain(reason: string): void {
    this.refusedForGood = true;
    const why = `it refused ${this.rejections} device credentials in a row, each fresh one right after enrolling the device (${reason}). Its servers may not share one database of devices (replicas behind a load balancer, each with its own). Stopped enrolling again so as not to register a new device at each attempt; ask your Edge Control administrator to fix that, then restart Bifrost Edge or sign in again`;
    this.log.error(`${REFUSES_THIS_DEVICE}: ${why}. Until then the cached policy stays in force, and a fail-closed policy refuses AI requests since Edge Control cannot confirm it`);
    if (!this.closed) this.reachable.refusesDevice(why);
  }

  /**
   * A bundle from the server is signed by a key this device does not trust. Usually the server
   * rotated its key while the device was away and never saw the announcement; the enrollment answer
   * is the one place to learn the current keys from, so the device enrolls again — once: if the
   * fresh enrollment does not vouch for the key either, the bundle is refused for good. Pinned
   * devices never do this (their pins are the whole trust); the configuration has to bring the key.
   */
  private signerUntrusted(keyId: string): void {
    if (this.pinned) {
      this.log.error(`bundles from the control server are signed by key ${keyId}, which is not among this device's pinned keys (control.pinnedPublicKeys); if the server rotated its signing key, push its new public key in the device configuration. Keeping the current policy`);
      return;
    }
    if (!this.options.credential) {
      this.log.error(`bundles from the control server are signed by key ${keyId}, which this device does not trust; the server probably rotated its signing key while this device was offline, and the device has no credential to enroll again with (sign in, or configure a virtual key). Keeping the current policy`);
      return;
    }
    if (!this.mayReenrollForUnknownKey) {
      this.log.error(`bundles from the control server are still signed by key ${keyId}, which even a fresh enrollment's keys do not include; refusing them (something between this device and the control server may be forging bundles). Keeping the current policy`);
      return;
    }
    this.mayReenrollForUnknownKey = false;
    this.replacing = `bundles are signed by key ${keyId}`;
    this.log.warn(`bundles from the control server are signed by key ${keyId}, which this device does not trust: the server probably rotated its signing key while this device was offline. Enrolling again to learn the server's current keys; the current policy stays enforced meanwhile`);
    this.stream?.stop();
    this.kick();
  }

  // ---- main loop ------------------------------------------------------------------------------

  /** (Re)starts the enroll → fetch → stream sequence unless it is already running. */
  private kick(): void {
    if (this.closed || this.running) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      // A credential rejection or an untrusted signer while running asks for another round.
      if (!this.closed && !this.refusedForGood && this.needsEnrollment() && this.options.credential) this.kick();
    });
  }

  private async run(): Promise<void> {
    if (!(await this.ensureEnrolled())) return;
    await this.syncNow();
    // The first fetch may have found bundles signed by a key we do not know: enroll again first.
    if (this.needsEnrollment()) return;
    this.schedulePoll();
    await this.followStream();
  }

  private async followStream(): Promise<void> {
    const enrollment = this.enrollment;
    if (!enrollment || this.closed) return;
    const follower = new PolicyStreamFollower({
      open: async (signal) => {
        // Only the connection counts: a failed one is followed at once by a catch-up fetch, which is judged.
        // A connection makes Edge Control reachable but confirms nothing: the policy in force may be the
        // cache of a previous enrollment. The stream's first event (the latest version) or a fetch confirms.
        const body = await openPolicyStream(enrollment.control_url, enrollment.device_credential, signal);
        if (!this.closed) this.reachable.reached();
        return body;
      },
      onPolicyEvent: (event) => this.onPolicyEvent(event),
      onDisconnected: () => void this.syncNow(),
      backoff: this.backoff,
      idleMs: this.streamIdleMs,
      sleeper: this.sleeper,
      log: this.log,
    });
    this.stream = follower;
    const end = await follower.run();
    if (end.reason === 'unauthorized') await this.credentialRejected(end.message);
  }

  private onPolicyEvent(event: PolicyEvent): void {
    if (this.policy?.source === 'edge-control' && this.policy.etag === event.etag) {
      // The server just said the bundle we hold is its latest for this device (the etag covers the
      // bundle's device_id): a cached one now counts as confirmed, as with a fetch's 304.
      this.markFresh();
      if (!this.closed) this.reachable.answered();
      return;
    }
    this.log.debug('policy push: new version announced', { version: event.version });
    void this.syncNow();
  }

  private schedulePoll(): void {
    if (this.closed) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    const fromBundle = this.policy?.source === 'edge-control' ? this.policy.bundle.sync.poll_interval_seconds : undefined;
    const seconds = Math.max(this.minPollSeconds, fromBundle ?? this.enrollment?.poll_interval_seconds ?? 60);
    this.pollTimer = setTimeout(() => {
      // The push stream already tells us about every new version; poll only while it is down.
      const due = this.isStreaming() ? Promise.resolve() : this.syncNow();
      void due.finally(() => this.schedulePoll());
    }, seconds * 1000);
  }

  // ---- fetching and applying ------------------------------------------------------------------

  private async fetchOnce(): Promise<SyncOutcome> {
    const enrollment = this.enrollment;
    // While re-enrolling for an untrusted signer, the old enrollment would only fetch the same refusal.
    if (!enrollment || this.closed || this.replacing !== undefined) return 'failed';
    const currentTag = this.policy?.source === 'edge-control' ? this.policy.etag : undefined;
    let result;
    try {
      result = await this.failuresJudged('policy fetch', fetchPolicy(enrollment.control_url, enrollment.device_credential, currentTag, this.callOptions()), isCredentialRejection);
    } catch (err) {
      if (this.closed) return 'failed';
      if (isCredentialRejection(err)) await this.credentialRejected(err.message);
      else {
        this.log.warn(`policy fetch failed: ${(err as Error).message}`);
        this.fetchAgainWhileUnconfirmed();
      }
      return 'failed';
    }
    // Reported once the answer is applied: a fail-closed device waiting for its first answer since its
    // start decides its waiting requests under the bundle Edge Control just confirmed or sent.
    try {
      this.rejections = 0;
      this.unconfirmedFetchFailures = 0;
      // Someone else signed in while this was in flight: the answer is the previous person's.
      if (this.enrollment?.device_id !== enrollment.device_id) return 'failed';
      if (result.kind === 'not_modified') {
        this.markFresh();
        return 'unchanged';
      }
      return await this.consider(result.raw, 'network');
    } finally {
      if (!this.closed) this.reachable.answered();
    }
  }

  /**
   * A fetch failed before Edge Control confirmed this run's policy. With the push stream down, its
   * reconnects fetch again; with it up, nothing would until the next push or poll, while a fail-closed
   * device refuses AI requests: fetch again after the sync backoff.
   */
  private fetchAgainWhileUnconfirmed(): void {
    if (this.closed || this.confirmationRetry || this.reachable.state().confirmed || !this.isStreaming()) return;
    const delay = backoffDelayMs(this.unconfirmedFetchFailures++, this.backoff);
    this.confirmationRetry = setTimeout(() => {
      this.confirmationRetry = undefined;
      void this.syncNow();
    }, delay);
  }

  /**
   * The enforced bundle, when a candidate must not go below its version. A bundle naming no device
   * (from a server that predates `device_id`) read from the cache does not count until the server
   * confirms it: the cache file can be written by the person using the device, and such a bundle may
   * have been copied from another enrollment with a higher version floor. Enforcing it offline gives
   * nothing a person could not have by keeping an old cache; letting it outrank the server's bundles
   * would lock the device on it.
   */
  private versionFloor(): { version: number; etag: string } | undefined {
    const policy = this.policy;
    if (policy?.source !== 'edge-control') return undefined;
    if (policy.origin === 'cache' && policy.bundle.device_id === undefined) return undefined;
    return { version: policy.bundle.version, etag: policy.etag };
  }

  /** Runs a candidate through the acceptance rules; applies and caches it when accepted. */
  private async consider(raw: unknown, origin: 'network' | 'cache'): Promise<SyncOutcome> {
    const current = this.versionFloor();
    const deviceId = this.enrollment?.device_id ?? (origin === 'cache' ? this.savedDeviceId : undefined);
    const judgement = judgeSignedBundle(raw, current, this.trusted, deviceId);
    if (judgement.verdict === 'reject') {
      const keeping = this.policy ? `keeping version ${this.policy.bundle.version}` : 'no policy to fall back on';
      this.log.warn(`refused a policy bundle from ${origin === 'cache' ? 'the local cache' : 'the control server'}: ${judgement.reason}; ${keeping}`);
      if (judgement.untrustedKeyId !== undefined && origin === 'network') this.signerUntrusted(judgement.untrustedKeyId);
      return 'rejected';
    }
    if (judgement.verdict === 'unchanged') {
      this.markFresh();
      return 'unchanged';
    }
    if (origin === 'network') {
      // Cache first: once a listener has applied a bundle, a restart must find that same bundle.
      try {
        await saveCachedPolicy(this.options.stateDir, { source: 'edge-control', control_url: this.options.controlUrl, saved_at: new Date().toISOString(), signed: raw });
      } catch (err) {
        this.log.warn(`could not cache the policy bundle on disk (${(err as Error).message}); it is enforced, but a restart while offline would not find it`);
      }
    }
    if (origin === 'network') this.mayReenrollForUnknownKey = true;
    await this.followAnnouncedKeys(judgement.signed.bundle.signing_keys);
    this.apply(judgement.signed, judgement.etag, origin);
    return 'updated';
  }

  /**
   * An accepted bundle names the keys to trust from now on (it was verified with a key we trust, so
   * the announcement carries that key's authority). Persisted with the enrollment record, so a
   * restart between a key's announcement and its promotion still trusts it. Pinned devices only warn.
   */
  private async followAnnouncedKeys(announced: SigningPublicKey[] | undefined): Promise<void> {
    if (!announced) return;
    if (this.pinned) {
      const fresh = unpinnedKeys(announced, this.pinned).filter((id) => !this.unpinnedWarned.has(id));
      for (const id of fresh) this.unpinnedWarned.add(id);
      if (fresh.length > 0) {
        this.log.warn(`the control server announces signing key(s) ${fresh.join(', ')}, which this device does not trust because it trusts only its pinned keys; push the new public key in control.pinnedPublicKeys before the server promotes it, or this device will refuse its bundles`);
      }
      return;
    }
    const enrollment = this.enrollment;
    const before = enrollment?.signing_keys ?? [];
    const { added, removed } = keySetChange(before, announced);
    if (added.length === 0 && removed.length === 0) return;
    this.trusted = trustMapOf(announced);
    this.log.info('trusted signing keys updated from a signed bundle', { added, removed });
    if (!enrollment) return;
    this.enrollment = { ...enrollment, signing_keys: announced };
    try {
      const { device_credential: _secret, ...record } = this.enrollment;
      await saveEnrollmentState(this.options.stateDir, record);
    } catch (err) {
      // The cached bundle carries the same announcement and re-teaches it at the next start.
      this.log.warn(`could not save the updated signing keys (${(err as Error).message}); they apply for this run`);
    }
  }

  private apply(signed: SignedPolicyBundle, etag: string, origin: 'network' | 'cache'): void {
    const previous = this.policy?.bundle.version;
    this.suspended = undefined;
    this.policy = { source: 'edge-control', bundle: signed.bundle, signed, etag, origin, received_at: new Date().toISOString() };
    this.log.info('policy bundle applied', { version: signed.bundle.version, previous, origin });
    this.listeners.emit(this.policy);
    // The interval may have changed with the bundle.
    if (origin === 'network' && this.enrollment) this.schedulePoll();
  }

  /** The server confirmed the cached bundle is current: it now counts as fresh from the network. */
  private markFresh(): void {
    if (this.policy?.origin === 'cache') this.policy = { ...this.policy, origin: 'network' };
  }

  private async loadCache(): Promise<void> {
    let cached;
    try {
      cached = await loadCachedPolicy(this.options.stateDir);
    } catch (err) {
      this.log.warn(`ignoring the cached policy: ${(err as Error).message}`);
      return;
    }
    if (!cached) return;
    if (cached.source !== 'edge-control' || cached.control_url !== this.options.controlUrl) {
      this.log.info('ignoring a cached policy from another source', { source: cached.source });
      return;
    }
    if (this.trusted.size === 0) {
      this.log.warn('a cached policy exists but no signing key is trusted yet (no enrollment, no pinned keys); it cannot be verified and is ignored');
      return;
    }
    await this.consider(cached.signed, 'cache');
  }
}

/** The server no longer accepts the device's credential (a policy fetch's 401): the device enrolls again. */
function isCredentialRejection(err: unknown): err is ControlRequestError {
  return err instanceof ControlRequestError && err.status === 401;
}
