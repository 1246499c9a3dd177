/**
 * The buffer a blind tunnel reads the origin's bytes into: one reused buffer instead of a fresh 64 KiB
 * one per read (no allocation per read). Small while the tunnel carries page loads and API calls (a
 * browser keeps hundreds of tunnels open, most of them idle); large while it carries a bulk transfer:
 * a sixteenth of the reads, writes and JS callbacks per megabyte. In `npm run bench`, 1 MiB reads cut
 * relay CPU per MiB from ~0.5 ms (256 KiB reads) to ~0.37 ms, throughput unchanged (the machine's
 * cores, not the relay, set it: see the C reference relay).
 *
 * Both switches wait for a run of reads, so a tunnel does not allocate 1 MiB for one 200 KB script and
 * does not flip back and forth on a download that arrives unevenly; and a tunnel whose transfer ended
 * gives the large buffer back. The caller reads into `current` only when every earlier write from it
 * has been flushed, which is what makes switching (and reusing the small buffer) safe.
 */
export const RELAY_SMALL_READ_BYTES = 64 * 1024;
export const RELAY_BULK_READ_BYTES = 1024 * 1024;
/** Reads in a row that filled the small buffer (256 KiB waiting) before the large one is taken… */
export const FULL_READS_BEFORE_BULK = 4;
/** …and reads in a row that would have fit the small one before it is given back. */
export const SMALL_READS_BEFORE_SHRINK = 4;

export class RelayReadBuffer {
  private readonly small = Buffer.allocUnsafeSlow(RELAY_SMALL_READ_BYTES);
  private large: Buffer | undefined;
  private run = 0;

  /** The buffer the next read goes into. */
  get current(): Buffer {
    return this.large ?? this.small;
  }

  /** Called after each read with how many bytes it delivered. */
  afterRead(bytes: number): void {
    if (this.large === undefined) {
      this.run = bytes === RELAY_SMALL_READ_BYTES ? this.run + 1 : 0;
      if (this.run < FULL_READS_BEFORE_BULK) return;
      this.large = Buffer.allocUnsafeSlow(RELAY_BULK_READ_BYTES);
    } else {
      this.run = bytes <= RELAY_SMALL_READ_BYTES ? this.run + 1 : 0;
      if (this.run < SMALL_READS_BEFORE_SHRINK) return;
      this.large = undefined;
    }
    this.run = 0;
  }
}
