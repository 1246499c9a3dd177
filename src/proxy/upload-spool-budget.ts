/**
 * Default of proxy.maxUploadSpoolBytes, the disk all uploads spooled at once may take together: four uploads of the
 * default proxy.maxUploadBytes (512 MiB), so a few large ones go through side by side, while twenty cannot fill a
 * laptop's disk before any one of them is refused.
 */
export const DEFAULT_MAX_UPLOAD_SPOOL_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * The bytes the spool files of this process hold together, as claimed by the uploads being written to them. One per
 * process: every spool file is in the one data directory's `uploads/`, on one disk.
 */
export class SpoolBudget {
  private held = 0;

  /** Bytes claimed now by uploads whose spool files still exist. */
  get used(): number {
    return this.held;
  }

  /** A claim of no bytes yet, grown as its upload arrives, given back when its spool file is removed. */
  claim(): SpoolClaim {
    return new SpoolClaim(this);
  }

  /** @internal SpoolClaim's accounting. */
  take(bytes: number, limit: number): boolean {
    if (this.held + bytes > limit) return false;
    this.held += bytes;
    return true;
  }

  /** @internal SpoolClaim's accounting. */
  give(bytes: number): void {
    this.held -= bytes;
  }
}

/** One upload's share of a SpoolBudget. */
export class SpoolClaim {
  private bytes = 0;
  private released = false;

  constructor(private readonly budget: SpoolBudget) {}

  /** Bytes this claim holds. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Holds `bytes` in all (a claim never shrinks before it is released): false, holding no more, when the budget
   * cannot take them under `limit`.
   */
  cover(bytes: number, limit: number): boolean {
    if (this.released || bytes <= this.bytes) return !this.released;
    if (!this.budget.take(bytes - this.bytes, limit)) return false;
    this.bytes = bytes;
    return true;
  }

  /**
   * Whether the budget has room for `bytes` in all for this claim now, taking none of it: an upload is admitted on
   * what it declares, but holds only what has arrived, so a client that declares much and sends nothing holds nothing.
   */
  couldCover(bytes: number, limit: number): boolean {
    return !this.released && this.budget.used - this.bytes + bytes <= limit;
  }

  /** Gives the bytes back; safe to call more than once. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.give(this.bytes);
    this.bytes = 0;
  }
}

/** The budget every upload of this process is spooled under. */
export const uploadSpoolBudget = new SpoolBudget();
