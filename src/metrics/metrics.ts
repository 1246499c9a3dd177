import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LabelLimiter } from './label-limiter.js';
import { SeriesCap } from './series-cap.js';

export interface EdgeMetricsOptions {
  /** Process metrics (CPU, memory, event-loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  /** Distinct models / apps / providers / finding types / error reasons kept before `other`. */
  maxModels?: number;
  maxApps?: number;
  maxProviders?: number;
  maxFindingTypes?: number;
  maxErrorReasons?: number;
  /**
   * Series of the request counter kept before new model/app combinations count as "other" (the
   * per-label limits multiply). Default 2000.
   */
  maxRequestSeries?: number;
  /** Longest label value kept (characters). Default 64. */
  maxLabelLength?: number;
  /** Request duration buckets in seconds; the default reaches 10 minutes for long reasoning streams. */
  durationBuckets?: number[];
}

export interface RequestObservation {
  provider?: string | null;
  model?: string | null;
  /** allowed | blocked | redacted | flagged | failed (the audit decision). */
  decision: string;
  app?: string | null;
  /** Time from the request arriving at Edge to the response ending. */
  durationSeconds?: number;
}

/** Anything that knows how many audit records wait to be shipped (the AuditOutbox). */
export interface AuditQueueDepthSource {
  depth(): number;
}

const DECISIONS = ['allowed', 'blocked', 'redacted', 'flagged', 'failed'] as const;
const ACTIONS = ['block', 'redact', 'flag'] as const;
const DEFAULT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** How often the event-loop delay histogram samples (prom-client's default is 10 ms). */
const EVENT_LOOP_SAMPLE_MS = 1000;

/**
 * Edge's Prometheus metrics, in a registry of their own (never prom-client's global one, which other
 * code in the process may also fill). Label values pass through LabelLimiters so a stream of unknown
 * models or apps cannot blow up the number of series.
 */
export class EdgeMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'provider' | 'model' | 'decision' | 'app'>;
  private readonly duration: Histogram<'provider' | 'decision'>;
  private readonly findings: Counter<'type' | 'action'>;
  private readonly upstreamErrors: Counter<'provider' | 'reason'>;
  private readonly policyVersion: Gauge;
  private readonly labels: Record<'provider' | 'model' | 'app' | 'decision' | 'findingType' | 'action' | 'reason', LabelLimiter>;
  private readonly requestSeries: SeriesCap<'provider' | 'model' | 'decision' | 'app'>;
  private auditQueue?: AuditQueueDepthSource;

  constructor(options: EdgeMetricsOptions = {}) {
    const maxLength = options.maxLabelLength ?? 64;
    this.labels = {
      provider: new LabelLimiter({ maxValues: options.maxProviders ?? 30, maxLength }),
      model: new LabelLimiter({ maxValues: options.maxModels ?? 100, maxLength }),
      app: new LabelLimiter({ maxValues: options.maxApps ?? 50, maxLength }),
      decision: new LabelLimiter({ maxValues: DECISIONS.length, allowed: DECISIONS }),
      findingType: new LabelLimiter({ maxValues: options.maxFindingTypes ?? 100, maxLength }),
      action: new LabelLimiter({ maxValues: ACTIONS.length, allowed: ACTIONS }),
      reason: new LabelLimiter({ maxValues: options.maxErrorReasons ?? 30, maxLength }),
    };
    this.requestSeries = new SeriesCap<'provider' | 'model' | 'decision' | 'app'>({ maxSeries: options.maxRequestSeries ?? 2000, foldable: ['model', 'app'] });
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'bifrost_edge_requests_total',
      help: 'AI requests Edge decided on, by provider, model, decision and app.',
      labelNames: ['provider', 'model', 'decision', 'app'],
      registers,
    });
    this.duration = new Histogram({
      name: 'bifrost_edge_request_duration_seconds',
      help: 'Time from a request reaching Edge to its response ending.',
      labelNames: ['provider', 'decision'],
      buckets: options.durationBuckets ?? DEFAULT_BUCKETS,
      registers,
    });
    this.findings = new Counter({
      name: 'bifrost_edge_guardrail_findings_total',
      help: 'Guardrail findings, by finding type and the action taken.',
      labelNames: ['type', 'action'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'bifrost_edge_upstream_errors_total',
      help: 'Requests that failed because the gateway or provider could not be reached or failed.',
      labelNames: ['provider', 'reason'],
      registers,
    });
    this.policyVersion = new Gauge({
      name: 'bifrost_edge_policy_version',
      help: 'Version of the policy bundle in force (0 before the first one is applied).',
      registers,
    });
    this.policyVersion.set(0);
    const readQueueDepth = () => this.auditQueue?.depth();
    new Gauge({
      name: 'bifrost_edge_audit_queue_depth',
      help: 'Audit records written locally and not yet acknowledged by every destination.',
      registers,
      collect() {
        try {
          const depth = readQueueDepth();
          if (depth !== undefined) this.set(depth);
        } catch {
          // Outbox closed during shutdown: keep the last value rather than fail the scrape.
        }
      },
    });
    // prom-client samples event-loop delay with a 10 ms timer by default: 100 wake-ups a second for
    // as long as the agent runs, which keeps an idle laptop's CPU from sleeping. Once a second still
    // gives the lag figures a scrape needs.
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }

  recordRequest(observation: RequestObservation): void {
    const provider = this.labels.provider.value(observation.provider);
    const decision = this.labels.decision.value(observation.decision);
    this.requests.inc(this.requestSeries.labels({ provider, model: this.labels.model.value(observation.model), decision, app: this.labels.app.value(observation.app) }));
    if (observation.durationSeconds !== undefined && Number.isFinite(observation.durationSeconds) && observation.durationSeconds >= 0) {
      this.duration.observe({ provider, decision }, observation.durationSeconds);
    }
  }

  recordGuardrailFinding(finding: { type: string; action: string }): void {
    this.findings.inc({ type: this.labels.findingType.value(finding.type), action: this.labels.action.value(finding.action) });
  }

  /** `reason` is a short, stable word: timeout, connect_refused, tls, dns, http_5xx, reset… */
  recordUpstreamError(error: { provider?: string | null; reason: string }): void {
    this.upstreamErrors.inc({ provider: this.labels.provider.value(error.provider), reason: this.labels.reason.value(error.reason) });
  }

  setPolicyVersion(version: number): void {
    this.policyVersion.set(version);
  }

  /** Reads the queue depth at every scrape (cheap: the outbox keeps it in memory). */
  observeAuditQueue(source: AuditQueueDepthSource): void {
    this.auditQueue = source;
  }

  /** The exposition text for GET /metrics. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export function createEdgeMetrics(options: EdgeMetricsOptions = {}): EdgeMetrics {
  return new EdgeMetrics(options);
}
