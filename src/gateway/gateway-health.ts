import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { joinUrl } from './upstream-plan.js';

export interface GatewayHealthOptions {
  gatewayUrl: string;
  /** How often to probe `/health` while the gateway is considered down. */
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Extra CAs (PEM) for a gateway with a private certificate, as used for forwarding. */
  extraCaPems?: string[];
  onChange: (reachable: boolean) => void;
}

/**
 * Tracks whether the Bifrost gateway is reachable. A failed forward marks it down and starts
 * probing Bifrost's `/health` until it answers, so a fail-closed device recovers by itself
 * instead of waiting for a user request that it would refuse.
 */
export class GatewayHealth {
  private up = true;
  private timer: NodeJS.Timeout | undefined;
  private readonly interval: number;
  private readonly timeout: number;

  constructor(private readonly options: GatewayHealthOptions) {
    this.interval = options.probeIntervalMs ?? 5000;
    this.timeout = options.probeTimeoutMs ?? 3000;
  }

  get reachable(): boolean {
    return this.up;
  }

  report(reachable: boolean): void {
    if (reachable === this.up) return;
    this.up = reachable;
    this.options.onChange(reachable);
    if (!reachable) this.scheduleProbe();
    else this.stopProbing();
  }

  close(): void {
    this.stopProbing();
  }

  private scheduleProbe(): void {
    this.stopProbing();
    this.timer = setTimeout(() => {
      void this.probe().then((ok) => (ok ? this.report(true) : this.scheduleProbe()));
    }, this.interval);
    this.timer.unref();
  }

  private stopProbing(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private probe(): Promise<boolean> {
    const url = joinUrl(this.options.gatewayUrl, '/health');
    return new Promise((resolve) => {
      const ca = this.options.extraCaPems?.length ? { ca: [...tls.rootCertificates, ...this.options.extraCaPems] } : {};
      const req = (url.protocol === 'https:' ? https : http).get(url, { timeout: this.timeout, ...ca }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 500) < 500);
      });
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
    });
  }
}
