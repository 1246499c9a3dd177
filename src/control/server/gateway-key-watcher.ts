import type { Logger } from '../../log.js';
import type { VirtualKey } from '../protocol/virtual-key.js';
import { virtualKeysFingerprint } from './bundle-builder.js';

export interface GatewayKeyWatcherOptions {
  read: () => Promise<VirtualKey[]>;
  intervalMs: number;
  log: Logger;
  /** Called after the key set changed in a policy-relevant way (not on usage counters). */
  onChange: (keys: VirtualKey[]) => Promise<void>;
  /** Least time between two reads asked for by unknown keys (refreshForUnknownKey). Default 5 000. */
  unknownKeyRefreshMs?: number;
  now?: () => Date;
}

/**
 * Polls the gateway's virtual keys and reports policy changes. Until the first successful read the
 * keys are unknown (`undefined`), which the publisher treats as "not ready" rather than "no keys":
 * publishing empty bundles because the gateway was briefly down would cut every device off.
 */
export class GatewayKeyWatcher {
  private current: VirtualKey[] | undefined;
  private fingerprint: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<boolean> | undefined;
  private stopped = false;
  private lastError: string | undefined;
  private lastUnknownKeyRefreshAt: number | undefined;

  constructor(private readonly options: GatewayKeyWatcherOptions) {}

  keys(): VirtualKey[] | undefined {
    return this.current;
  }

  /** The last read failure, for "not ready" messages. */
  error(): string | undefined {
    return this.lastError;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Reads now (concurrent callers share one read); true when the keys changed. */
  refresh(): Promise<boolean> {
    this.inFlight ??= this.read().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Reads again because an enrollment presented a key not among those read (it may be newer than the
   * last poll), at most once per `unknownKeyRefreshMs`: enrollment needs no credential, so anyone
   * could otherwise make every request page through all of the gateway's keys (and republish when
   * they changed). In between, callers get the keys already read, or share a read in progress.
   */
  async refreshForUnknownKey(): Promise<void> {
    if (this.inFlight) {
      await this.inFlight;
      return;
    }
    const now = (this.options.now ?? (() => new Date()))().getTime();
    const last = this.lastUnknownKeyRefreshAt;
    // A clock that went back counts as time elapsed, so it cannot stop these reads for long.
    if (last !== undefined && now >= last && now - last < (this.options.unknownKeyRefreshMs ?? 5_000)) return;
    this.lastUnknownKeyRefreshAt = now;
    await this.refresh();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.refresh().finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  private async read(): Promise<boolean> {
    let keys: VirtualKey[];
    try {
      keys = await this.options.read();
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) this.options.log.warn(`reading virtual keys from the gateway failed; keeping the last known keys: ${message}`);
      this.lastError = message;
      return false;
    }
    if (this.lastError !== undefined) this.options.log.info('reading virtual keys from the gateway works again');
    this.lastError = undefined;
    const fingerprint = virtualKeysFingerprint(keys);
    const changed = fingerprint !== this.fingerprint;
    this.current = keys;
    this.fingerprint = fingerprint;
    if (changed && !this.stopped) {
      this.options.log.info('virtual keys at the gateway changed', { keys: keys.length });
      try {
        await this.options.onChange(keys);
      } catch (err) {
        this.options.log.error(`republishing after a virtual key change failed: ${(err as Error).message}`);
      }
    }
    return changed;
  }
}
