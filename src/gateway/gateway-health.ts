import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { joinUrl } from './upstream-plan.js';
import { readGatewayUrl, type GatewayUrlSource } from './gateway-url.js';

export interface GatewayHealthOptions {
  /** The gateway requests are forwarded to; undefined while there is none. Read at every report and probe. */
  gatewayUrl: GatewayUrlSource;
  /** How often to probe `/health` while the gateway is considered down. */
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  /** Extra CAs (PEM) for a gateway with a private certificate, as used for forwarding. */
  extraCaPems?: string[];
  /** `why`: 'probe' (a probe or a request said so) or 'gateway_changed' (the old gateway's outage no longer applies). */
  onChange: (reachable: boolean, why: 'probe' | 'gateway_changed') => void;
}

/**
 * Tracks whether the Bifrost gateway is reachable. A failed forward marks it down and starts
 * probing Bifrost's `/health` until it answers, so a fail-closed device recovers by itself
 * instead of waiting for a user request that it would refuse.
 *
 * The outage belongs to one URL: when the gateway moves (a policy bundle names another one), nothing
 * is known about the new gateway yet, so it starts out reachable and the old one is no longer probed.
 */
export class GatewayHealth {
  private up = true;
  /** The gateway found down (what the probes ask); undefined while it is up. */
  private downUrl: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** A probe after a timed-out request is under way (one at a time, however many requests time out). */
  private checking = false;
  private readonly interval: number;
  private readonly timeout: number;

  constructor(private readonly options: GatewayHealthOptions) {
    this.interval = options.probeIntervalMs ?? 5000;
    this.timeout = options.probeTimeoutMs ?? 3000;
  }

  get reachable(): boolean {
    this.noticeGatewayChange();
    return this.up;
  }

  report(reachable: boolean): void {
    if (this.closed) return;
    this.noticeGatewayChange();
    if (reachable === this.up) return;
    if (!reachable) {
      const url = readGatewayUrl(this.options.gatewayUrl);
      if (url === undefined) return;
      this.downUrl = url;
    } else {
      this.downUrl = undefined;
    }
    this.up = reachable;
    this.options.onChange(reachable, 'probe');
    if (!reachable) this.scheduleProbe();
    else this.stopProbing();
  }

  /**
   * A request to the gateway timed out: a slow model, or a gateway that accepts connections and never
   * answers. One /health probe tells them apart: the gateway is marked down only if that fails too.
   */
  suspectTimeout(): void {
    if (this.closed || this.checking) return;
    this.noticeGatewayChange();
    const url = readGatewayUrl(this.options.gatewayUrl);
    if (!this.up || url === undefined) return;
    this.checking = true;
    void this.probe(url).then((ok) => {
      this.checking = false;
      // Only about the gateway probed, and only if nothing has said otherwise meanwhile.
      if (!ok && this.up && readGatewayUrl(this.options.gatewayUrl) === url) this.report(false);
    });
  }

  /**
   * Forgets an outage of a gateway requests no longer go to (call when the policy changes; reports
   * and probes check too). Returns whether it did.
   */
  noticeGatewayChange(): boolean {
    if (this.up || readGatewayUrl(this.options.gatewayUrl) === this.downUrl) return false;
    this.up = true;
    this.downUrl = undefined;
    this.stopProbing();
    this.options.onChange(true, 'gateway_changed');
    return true;
  }

  close(): void {
    this.closed = true;
    this.stopProbing();
  }

  private scheduleProbe(): void {
    this.stopProbing();
    if (this.closed) return;
    this.timer = setTimeout(() => {
      const url = this.downUrl;
      if (this.noticeGatewayChange() || url === undefined) return;
      void this.probe(url).then((ok) => {
        if (this.closed || this.noticeGatewayChange() || this.up) return;
        if (ok) this.report(true);
        else this.scheduleProbe();
      });
    }, this.interval);
    this.timer.unref();
  }

  private stopProbing(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private probe(gatewayUrl: string): Promise<boolean> {
    const url = joinUrl(gatewayUrl, '/health');
    return new Promise((resolve) => {
      const ca = this.options.extraCaPems?.length ? { ca: [...tls.rootCertificates, ...this.options.extraCaPems] } : {};
      const req = (url.protocol === 'https:' ? https : http).get(url, { timeout: this.timeout, ...ca }, (res) => {
        res.resume();
        resolve(isGatewayAnswer(res.statusCode ?? 500));
      });
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
    });
  }
}

/**
 * Whether a /health status shows the gateway itself answering. A 5xx is a gateway (or its load
 * balancer) in trouble; a redirect is what a captive portal sends to every plain-HTTP request, so it
 * would mark the gateway up only for the next request to fail again. A 4xx is still the gateway
 * answering (a gateway without the route, or one that wants credentials for it).
 */
function isGatewayAnswer(status: number): boolean {
  return status < 300 || (status >= 400 && status < 500);
}
