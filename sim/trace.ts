// The trace: one `describe` line per input and effect. Its hash proves two runs identical; the
// lines themselves go to a file with --trace.

import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";

/** Lines are hashed in batches by native code: hashing each line in JS cost a fifth of a run. */
const batchChars = 1 << 16;

export class Trace {
  private readonly digest: Hash = createHash("sha1");
  private batch = "";
  lines = 0;

  /**
   * `enabled` false: no line is hashed or kept, and the world does not have the replicas build
   * them (a sweep reports no trace hash; describing every input and effect cost a tenth of a run).
   */
  constructor(
    private readonly sink: ((line: string) => void) | undefined,
    readonly enabled = true,
  ) {}

  add(line: string): void {
    if (!this.enabled) return;
    this.lines++;
    this.batch += line;
    this.batch += "\n";
    if (this.batch.length >= batchChars) this.flush();
    this.sink?.(line);
  }

  private flush(): void {
    this.digest.update(this.batch);
    this.batch = "";
  }

  /** The first 64 bits of the SHA-1 of every line so far, newline-terminated ("" untraced). */
  hash(): string {
    if (!this.enabled) return "";
    this.flush();
    return this.digest.copy().digest("hex").slice(0, 16);
  }
}
