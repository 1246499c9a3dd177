export { EdgeMetrics, createEdgeMetrics } from './metrics.js';
export type { EdgeMetricsOptions, RequestObservation, AuditQueueDepthSource } from './metrics.js';
export { startMetricsServer, isLoopbackHost, MetricsServerAddressError } from './metrics-server.js';
export type { MetricsServer, MetricsServerOptions } from './metrics-server.js';
export { LabelLimiter } from './label-limiter.js';
