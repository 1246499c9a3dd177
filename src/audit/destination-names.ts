import { OTLP_DESTINATION } from './otlp-sink.js';

/** The destination Edge Control uploads use; other sinks (OTLP) name their own. */
export const CONTROL_DESTINATION = 'control';

/**
 * The destination whose unacknowledged records count against the outbox's cap and are never pruned:
 * Edge Control, the audit trail of record, when it is configured; otherwise the first (usually the
 * only) one. The others are copies (an OTLP collector): falling behind, they lose their oldest records
 * to the cap instead of stopping the recording.
 */
export function primaryDestination(destinations: readonly string[]): string | undefined {
  return destinations.includes(CONTROL_DESTINATION) ? CONTROL_DESTINATION : destinations[0];
}

/** How texts for people name a destination: "Edge Control", "the OpenTelemetry collector". */
export function describeAuditDestination(destination: string): string {
  if (destination === CONTROL_DESTINATION) return 'Edge Control';
  if (destination === OTLP_DESTINATION) return 'the OpenTelemetry collector';
  return `the audit destination "${destination}"`;
}

/** What the person at the device (or their IT) can do so `destination` takes the records again. */
export function auditDestinationRemedy(destination: string): string {
  if (destination === CONTROL_DESTINATION) return 'Connect to your company network (VPN) so Edge can upload its records';
  if (destination === OTLP_DESTINATION) return 'Ask your IT helpdesk to check that the OpenTelemetry collector (audit.otlpEndpoint) is running and reachable from this device';
  return `Check that ${describeAuditDestination(destination)} is reachable from this device`;
}
