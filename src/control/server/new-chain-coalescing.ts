import type { AuditChainEventRow, NewAuditChainEvent } from './control-store.js';
import type { NewChainLimit } from './new-chain-rate.js';

/** A chain the device started beyond its limit (new-chain-rate.ts): stored, not compared, counted. */
export interface UncomparedChain {
  device_id: string;
  /** Where it is stored (auditChainKey). */
  chain: string;
  starts_at_seq: number;
  batch_id: string;
}

/**
 * The one event counting a device's chains beyond its limit: `latest` (the device's latest new-chain event)
 * replaced by one counting one more when it is such an event, else a new one opened by this chain. A replacement
 * names the event it replaces (`details.replaces`) and the stretch's opening event (`details.first_id`, the same
 * in every replacement; the opening event itself has none: it is its own id). An event the device's next compared
 * chain follows closes it, so there is one per stretch beyond the limit, however many chains (a pooled VM
 * reverted on every logoff starts one each time).
 */
export function coalescedNewChainEvent(latest: AuditChainEventRow | undefined, chain: UncomparedChain, limit: NewChainLimit, now: string): NewAuditChainEvent {
  const open = latest?.details['coalesced'] === true ? latest : undefined;
  const count = (open ? Number(open.details['chains']) || 0 : 0) + 1;
  const since = open?.created_at ?? now;
  const first = open ? { chain: open.chain, starts_at_seq: open.starts_at_seq, batch_id: open.batch_id } : chain;
  const message = `${count} more new audit chain${count === 1 ? '' : 's'} from device ${chain.device_id} since ${since}, beyond the ` +
    `${limit.max} ${limit.per} this server compares with its other chains: stored as sent, not compared. Its audit database is replaced or ` +
    'reverted that often: expected of a pooled or non-persistent VM or a kiosk, otherwise check the device (`bifrost-edge audit verify`). ' +
    `Latest: ${chain.chain} from seq ${chain.starts_at_seq}`;
  return {
    kind: 'new_chain',
    device_id: chain.device_id,
    chain: first.chain,
    starts_at_seq: first.starts_at_seq,
    batch_id: first.batch_id,
    message,
    details: {
      coalesced: true, device_id: chain.device_id, chains: count, since, limit: `${limit.max} ${limit.per}`,
      latest_chain: chain.chain, latest_starts_at_seq: chain.starts_at_seq,
      // The event it replaces (stored again under a new id, so pagers see the new count): one fewer chain counted.
      // `first_id` stays the same across every replacement (the opening event's id), so a reader can tie them together.
      ...(open ? { replaces: open.id, first_id: firstIdOf(open) } : {}),
    },
    ...(open ? { updates: open.id } : {}),
  };
}

/** The id of the event that opened the stretch: named by a replacement, else the event's own (it is the opening one). */
function firstIdOf(event: AuditChainEventRow): number {
  const first = event.details['first_id'];
  return typeof first === 'number' ? first : event.id;
}
