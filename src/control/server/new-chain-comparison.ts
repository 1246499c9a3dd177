import type { AuditChainHead, StoredAuditChain } from './control-store.js';

/**
 * A device's new audit chain compared with EVERY chain this server holds for the device, not one of
 * them: a device may hold several (its audit database replaced, then reverted, then records pruned while
 * it had no Edge Control configured), and the record IT needs is, per chain, whether it holds the new
 * chain's records as sent, holds other records under the same seqs (and from where), and which earlier
 * seqs no chain holds at all. Pure: the caller reads the hashes.
 */

/** An inclusive seq range. */
export interface SeqRange { from: number; through: number }

/** One chain of the device, with its stored hashes over the new chain's first batch (and the seq before it). */
export interface ComparedChain extends StoredAuditChain {
  hashes: readonly AuditChainHead[];
}

/** The new chain as its first batch shows it. */
export interface NewChainStart {
  startSeq: number;
  /** prev_hash of its first record: the hash of the device's record at startSeq - 1. */
  prevHash: string;
  records: readonly AuditChainHead[];
}

export interface NewChainComparison {
  /** The chain holding the record the new chain's first record links to (the same records through startSeq - 1). */
  continues?: string;
  /** Chains holding some of the new chain's seqs as the batch has them (same hashes). */
  heldBy: { chain: string; seqs: SeqRange }[];
  /**
   * Chains holding other records under the new chain's seqs: the first seq where they part, and every
   * seq that chain holds from there (hash links make all of them differ once one does).
   */
  differsFrom: { chain: string; atSeq: number; conflicting: SeqRange }[];
  /** Seqs before the start that another chain holds (a chain the new one does not link to holds other history). */
  earlierHeldBy: { chain: string; seqs: SeqRange }[];
  /** Seqs before the start that no chain of the device holds. */
  notHeld: SeqRange[];
}

/** `chains`: the device's other chains, the most recently uploaded first (ControlStore.auditChains). */
export function compareNewChain(start: NewChainStart, chains: readonly ComparedChain[]): NewChainComparison {
  const { startSeq } = start;
  const batchHash = new Map(start.records.map((r) => [r.seq, r.hash]));
  const lastSeq = start.records[start.records.length - 1]?.seq ?? startSeq - 1;
  const comparison: NewChainComparison = { heldBy: [], differsFrom: [], earlierHeldBy: [], notHeld: [] };
  for (const chain of chains) {
    const stored = new Map(chain.hashes.map((r) => [r.seq, r.hash]));
    if (startSeq > 1 && comparison.continues === undefined && stored.get(startSeq - 1) === start.prevHash) comparison.continues = chain.key;
    if (chain.first_seq < startSeq) {
      comparison.earlierHeldBy.push({ chain: chain.key, seqs: { from: chain.first_seq, through: Math.min(chain.head.seq, startSeq - 1) } });
    }
    let sameFrom: number | undefined;
    let sameThrough: number | undefined;
    for (let seq = Math.max(startSeq, chain.first_seq); seq <= Math.min(lastSeq, chain.head.seq); seq++) {
      if (stored.get(seq) !== batchHash.get(seq)) {
        comparison.differsFrom.push({ chain: chain.key, atSeq: seq, conflicting: { from: seq, through: chain.head.seq } });
        break;
      }
      sameFrom ??= seq;
      sameThrough = seq;
    }
    if (sameFrom !== undefined && sameThrough !== undefined) comparison.heldBy.push({ chain: chain.key, seqs: { from: sameFrom, through: sameThrough } });
  }
  comparison.notHeld = uncovered(startSeq - 1, chains.map((chain) => ({ from: chain.first_seq, through: chain.head.seq })));
  // The chain it links to first: it is the one the new chain follows.
  const linked = comparison.continues;
  if (linked !== undefined) comparison.differsFrom.sort((a, b) => Number(b.chain === linked) - Number(a.chain === linked));
  return comparison;
}

/** The seqs a chain's comparison reads: from the one before the new chain's start through its first batch. */
export function comparedSeqs(start: NewChainStart, chain: StoredAuditChain): SeqRange | undefined {
  const lastSeq = start.records[start.records.length - 1]?.seq ?? start.startSeq - 1;
  const from = Math.max(start.startSeq - 1, chain.first_seq, 1);
  const through = Math.min(lastSeq, chain.head.seq);
  return from <= through ? { from, through } : undefined;
}

/**
 * Chains named one by one in an event (per kind of finding); the rest are counted ("and N more"). A device
 * may hold many chains, and an event naming every one for each new chain grows with the square of their number.
 */
export const MAX_LISTED_CHAINS = 5;

/** The first MAX_LISTED_CHAINS of `items`, and how many were left out. */
export function firstListed<T>(items: readonly T[]): { listed: T[]; more: number } {
  return { listed: items.slice(0, MAX_LISTED_CHAINS), more: Math.max(0, items.length - MAX_LISTED_CHAINS) };
}

/** `clauses`, at most MAX_LISTED_CHAINS of them, then "and N more <what>". */
export function boundedClauses(clauses: readonly string[], what: string): string[] {
  const { listed, more } = firstListed(clauses);
  return more > 0 ? [...listed, `and ${more} more ${what}`] : listed;
}

/** One clause per finding, for IT: "seq 1-5 held by chain X as sent", "differs from chain Y at seq 6 …", "seq 7-9 not held here"; bounded (MAX_LISTED_CHAINS per kind). */
export function describeComparison(comparison: NewChainComparison, startSeq: number): string[] {
  const linked = comparison.continues;
  return [
    ...(linked !== undefined ? [`continues chain ${linked} through seq ${startSeq - 1}`] : []),
    ...boundedClauses(comparison.earlierHeldBy.filter((e) => e.chain !== linked).map((e) => `seq ${range(e.seqs)} held by chain ${e.chain}`), 'chains holding earlier seqs'),
    ...boundedClauses(comparison.heldBy.map((h) => `seq ${range(h.seqs)} held by chain ${h.chain} as sent`), 'chains holding some of its seqs as sent'),
    ...boundedClauses(comparison.differsFrom.map((d) => `differs from chain ${d.chain} at seq ${d.atSeq} (it holds other records for seq ${range(d.conflicting)})`), 'chains it differs from'),
    ...(linked === undefined ? boundedClauses(comparison.notHeld.map((r) => `seq ${range(r)} not held here`), 'ranges not held here') : []),
  ];
}

export function range(r: SeqRange): string {
  return `${r.from}-${r.through}`;
}

/** The ranges of 1..through that none of `held` covers. */
function uncovered(through: number, held: readonly SeqRange[]): SeqRange[] {
  const gaps: SeqRange[] = [];
  let next = 1;
  for (const r of [...held].sort((a, b) => a.from - b.from)) {
    if (r.from > through) break;
    if (r.from > next) gaps.push({ from: next, through: r.from - 1 });
    next = Math.max(next, r.through + 1);
  }
  if (next <= through) gaps.push({ from: next, through });
  return gaps;
}
