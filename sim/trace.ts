// The trace: one `describe` line per input and effect. Its hash proves two runs identical; the
// lines themselves go to a file with --trace.

export class Trace {
  private high = 0x811c9dc5;
  private low = 0x01000193;
  lines = 0;

  constructor(private readonly sink: ((line: string) => void) | undefined) {}

  add(line: string): void {
    this.lines++;
    let a = this.high;
    let b = this.low;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
    }
    this.high = Math.imul(a ^ 10, 0x01000193);
    this.low = Math.imul(b ^ 10, 0x5bd1e995);
    this.sink?.(line);
  }

  hash(): string {
    return (this.high >>> 0).toString(16).padStart(8, "0") + (this.low >>> 0).toString(16).padStart(8, "0");
  }
}
