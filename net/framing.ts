// Length-prefixed frames over a byte stream: a 4-byte big-endian length, then the payload. The
// framer is incremental (feed it whatever the socket delivers) and bounded: a negative or oversized
// length is an error, upon which the caller closes that connection.

export class FrameError extends Error {
  override name = "FrameError";
}

export class Framer {
  private chunks: Uint8Array[] = [];
  /** Where the unread bytes start in chunks[0]. */
  private at = 0;
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds bytes; returns every frame now complete, in order. Throws FrameError on a bad length. */
  push(bytes: Uint8Array): Uint8Array[] {
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
    const frames: Uint8Array[] = [];
    while (this.buffered >= 4) {
      const length = this.peekLength();
      if (length < 0 || length > this.maxFrameBytes)
        throw new FrameError(`frame length ${length} outside [0, ${this.maxFrameBytes}]`);
      if (this.buffered < 4 + length) break;
      frames.push(this.take(length));
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** The next frame's length, read where it lies: no view or DataView for four bytes. */
  private peekLength(): number {
    const first = this.chunks[0]!;
    const at = this.at;
    if (first.length - at >= 4)
      return (first[at]! << 24) | (first[at + 1]! << 16) | (first[at + 2]! << 8) | first[at + 3]!;
    let length = 0;
    let chunk = 0;
    let offset = at;
    for (let i = 0; i < 4; i++) {
      while (offset === this.chunks[chunk]!.length) {
        chunk++;
        offset = 0;
      }
      length = (length << 8) | this.chunks[chunk]![offset++]!;
    }
    return length | 0;
  }

  /**
   * Consumes a length prefix and the `n` bytes after it: a view of the chunk the socket delivered
   * when they lie in one (most frames do), so that a frame costs one view and no buffer of its
   * own; a copy when they straddle chunks.
   */
  private take(n: number): Uint8Array {
    this.buffered -= 4 + n;
    const first = this.chunks[0]!;
    const start = this.at + 4;
    if (first.length >= start + n) {
      const view = first.subarray(start, start + n);
      this.at = start + n;
      if (this.at === first.length) {
        this.chunks.shift();
        this.at = 0;
      }
      return view;
    }
    this.skip(4);
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const used = Math.min(chunk.length - this.at, n - filled);
      out.set(chunk.subarray(this.at, this.at + used), filled);
      filled += used;
      this.skip(used);
    }
    return out;
  }

  /** Moves past `n` bytes already counted out of `buffered`. */
  private skip(n: number): void {
    while (n > 0) {
      const left = this.chunks[0]!.length - this.at;
      if (n < left) {
        this.at += n;
        return;
      }
      n -= left;
      this.chunks.shift();
      this.at = 0;
    }
  }
}

export function frame(payload: Uint8Array): Uint8Array {
  const out = pooledBytes(4 + payload.length);
  writeLength(out, 0, payload.length);
  out.set(payload, 4);
  return out;
}

/** A big-endian 32-bit length at `offset` (a DataView per frame costs more than four stores). */
export function writeLength(out: Uint8Array, offset: number, length: number): void {
  out[offset] = length >>> 24;
  out[offset + 1] = (length >>> 16) & 0xff;
  out[offset + 2] = (length >>> 8) & 0xff;
  out[offset + 3] = length & 0xff;
}

/**
 * `bytes` uninitialized bytes cut from Node's shared pool (Buffer.allocUnsafe), as a plain
 * Uint8Array (a Buffer's slice() would not copy). Small buffers of their own cost a malloc, a
 * free and the garbage collector's sweep each, which was a fifth of a member's CPU under write
 * load; for messages on their way out and encodings kept a short while, the pool's 8 KiB pieces
 * are shared. Not for what stays long (znode data): one live view keeps a whole piece.
 */
export function pooledBytes(bytes: number): Uint8Array {
  const pooled = Buffer.allocUnsafe(bytes);
  return new Uint8Array(pooled.buffer, pooled.byteOffset, bytes);
}
