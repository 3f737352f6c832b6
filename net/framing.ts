// Length-prefixed frames over a byte stream: a 4-byte big-endian length, then the payload. The
// framer is incremental (feed it whatever the socket delivers) and bounded: a negative or oversized
// length is an error, upon which the caller closes that connection.

export class FrameError extends Error {
  override name = "FrameError";
}

export class Framer {
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Adds bytes; returns every frame now complete, in order. Throws FrameError on a bad length. */
  push(bytes: Uint8Array): Uint8Array[] {
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.buffered < 4) return frames;
      const head = this.peek(4);
      const length = new DataView(head.buffer, head.byteOffset, 4).getInt32(0);
      if (length < 0 || length > this.maxFrameBytes)
        throw new FrameError(`frame length ${length} outside [0, ${this.maxFrameBytes}]`);
      if (this.buffered < 4 + length) return frames;
      this.take(4);
      frames.push(this.take(length));
    }
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.copy(n, false);
  }

  /**
   * The next n bytes: a view of the chunk the socket delivered when they lie in one (most frames
   * do), so that a frame costs no buffer of its own; a copy when they straddle chunks.
   */
  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    return this.copy(n, true);
  }

  private copy(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let offset = 0;
    let index = 0;
    while (offset < n) {
      const chunk = this.chunks[index]!;
      const used = Math.min(chunk.length, n - offset);
      out.set(chunk.subarray(0, used), offset);
      offset += used;
      if (!consume) {
        index++;
        continue;
      }
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    return out;
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
