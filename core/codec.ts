// A small big-endian binary writer and reader for the storage formats (log records, snapshots).
// Pure over Uint8Array so the simulator's disk and the real disk share the same bytes.

import { assert } from "./assert.ts";
import { emptyBytes, fromUtf8, utf8 } from "./bytes.ts";

const nullLength = 0xffffffff;

/** Where a writer's buffers come from: a harness may hand out pieces of a shared pool. */
export type ByteAllocator = (bytes: number) => Uint8Array;

const newBytes: ByteAllocator = (bytes) => new Uint8Array(bytes);

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  /**
   * With an allocator the writer's buffers are its pieces, and finish() returns a view of the
   * last one, not a copy: one allocation per encoding, none of them the runtime's own.
   */
  constructor(
    initialBytes = 256,
    private readonly allocate?: ByteAllocator,
  ) {
    this.buffer = (allocate ?? newBytes)(initialBytes);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = (this.allocate ?? newBytes)(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  u8(value: number): this {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
    return this;
  }

  i32(value: number): this {
    this.reserve(4);
    this.view.setInt32(this.length, value);
    this.length += 4;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value >>> 0);
    this.length += 4;
    return this;
  }

  i64(value: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, value); // modulo 2^64, as BigInt.asIntN would
    this.length += 8;
    return this;
  }

  /** A JS number that is an integer within ±2^53 (times in ms), stored as 64 bits. */
  int53(value: number): this {
    assert(Number.isSafeInteger(value), "int53 fits");
    // Two's complement halves, no BigInt (a snapshot writes two per znode).
    const high = Math.floor(value / 0x100000000);
    this.reserve(8);
    this.view.setInt32(this.length, high);
    this.view.setUint32(this.length + 4, value - high * 0x100000000);
    this.length += 8;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.u32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** Bytes or null; null is the length 0xFFFFFFFF, which no real length reaches. */
  nullableBytes(value: Uint8Array | null): this {
    return value === null ? this.u32(nullLength) : this.bytes(value);
  }

  /** A length-prefixed UTF-8 string; ASCII (every path in practice) without an encoded copy. */
  string(value: string): this {
    const n = value.length;
    this.reserve(4 + n);
    const start = this.length + 4;
    const buffer = this.buffer;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) return this.bytes(utf8(value));
      buffer[start + i] = c;
    }
    this.view.setUint32(this.length, n);
    this.length = start + n;
    return this;
  }

  raw(value: Uint8Array): this {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  /** How many bytes are written so far. */
  get size(): number {
    return this.length;
  }

  /** The bytes written; the buffer itself when it was sized exactly (no copy of a large one). */
  finish(): Uint8Array {
    if (this.length === this.buffer.length) return this.buffer;
    return this.allocate === undefined
      ? this.buffer.slice(0, this.length)
      : this.buffer.subarray(0, this.length);
  }
}

/**
 * Copies many small byte strings (znode data read from a snapshot or log) into shared 1 MiB
 * buffers, each returned as a view. One ArrayBuffer per znode costs a backing store, an extension
 * object and a malloc each, and a million of them dominate restore time in the GC; a slab is
 * kept alive by any view into it, which for data restored together is at most its own size.
 */
export class ByteSlab {
  private buffer = new Uint8Array(0);
  private used = 0;

  /**
   * `inputBytes`: the size of what is decoded, which bounds the data copied out of it, so the
   * first slab is no larger (a small tree restored in the simulator paid for a zeroed 1 MiB).
   */
  constructor(private inputBytes = slabBytes) {}

  copy(source: Uint8Array): Uint8Array {
    const length = source.length;
    if (length === 0) return emptyBytes;
    if (length > slabBytes / 16) return source.slice();
    if (this.used + length > this.buffer.length) {
      this.buffer = new Uint8Array(Math.max(length, Math.min(slabBytes, this.inputBytes)));
      this.inputBytes = slabBytes;
      this.used = 0;
    }
    const view = this.buffer.subarray(this.used, this.used + length);
    view.set(source);
    this.used += length;
    return view;
  }
}

const slabBytes = 1 << 20;

/** Thrown on truncated or malformed input; callers at the storage boundary turn it into "torn". */
export class DecodeError extends Error {
  override name = "DecodeError";
}

export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(
    private readonly bytesIn: Uint8Array,
    private readonly slab?: ByteSlab,
  ) {
    this.view = new DataView(bytesIn.buffer, bytesIn.byteOffset, bytesIn.byteLength);
  }

  get remaining(): number {
    return this.bytesIn.length - this.offset;
  }

  private need(bytes: number): void {
    if (bytes < 0 || this.remaining < bytes)
      throw new DecodeError(`need ${bytes} bytes, have ${this.remaining}`);
  }

  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }

  i32(): number {
    this.need(4);
    const value = this.view.getInt32(this.offset);
    this.offset += 4;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  i64(): bigint {
    this.need(8);
    const value = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return value;
  }

  /** Read as two 32-bit halves: no BigInt per value (a snapshot holds two per znode). */
  int53(): number {
    this.need(8);
    const high = this.view.getInt32(this.offset);
    const low = this.view.getUint32(this.offset + 4);
    this.offset += 8;
    // Safe integers have |value| < 2^53: a high half within ±2^21, -2^53 itself excluded.
    if (high >= 0x200000 || high < -0x200000 || (high === -0x200000 && low === 0)) {
      throw new DecodeError("int53 out of range");
    }
    return high * 0x100000000 + low;
  }

  /** A length-prefixed byte string, copied (into the slab, when the reader has one). */
  bytes(): Uint8Array {
    const view = this.bytesView();
    return this.slab === undefined ? view.slice() : this.slab.copy(view);
  }

  /** A length-prefixed byte string as a view into the input: no copy, valid while the input is. */
  bytesView(): Uint8Array {
    const length = this.u32();
    this.need(length);
    const value = this.bytesIn.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  nullableBytes(): Uint8Array | null {
    if (this.remaining >= 4 && this.view.getUint32(this.offset) === nullLength) {
      this.offset += 4;
      return null;
    }
    return this.bytes();
  }

  string(): string {
    return fromUtf8(this.bytesView());
  }

  /** Moves the read position `bytes` ahead. */
  skip(bytes: number): void {
    this.need(bytes);
    this.offset += bytes;
  }

  /** Whether the bytes at the read position are `prefix` (the position does not move). */
  startsWith(prefix: Uint8Array): boolean {
    if (prefix.length > this.remaining) return false;
    const input = this.bytesIn;
    const at = this.offset;
    for (let i = 0; i < prefix.length; i++) if (input[at + i] !== prefix[i]) return false;
    return true;
  }

  /** The bytes read since `start`, as a view into the input. */
  viewSince(start: number): Uint8Array {
    return this.bytesIn.subarray(start, this.offset);
  }
}

// Slicing-by-8 (eight 256-entry tables, eight bytes per step): a 200 MB snapshot is checked on
// every start, and the byte-at-a-time loop took about a second of it.
const crcTables = (() => {
  const table = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const previous = table[(k - 1) * 256 + n]!;
      table[k * 256 + n] = (previous >>> 8) ^ table[previous & 0xff]!;
    }
  }
  return table;
})();

/**
 * CRC-32 (IEEE), the checksum on every log record and snapshot. `previous` is the CRC of the bytes
 * before these, for a checksum computed piece by piece.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const t = crcTables;
  let c = ~previous;
  let i = 0;
  const whole = bytes.length - (bytes.length % 8);
  for (; i < whole; i += 8) {
    const word = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    const low = c ^ word;
    c =
      t[7 * 256 + (low & 0xff)]! ^
      t[6 * 256 + ((low >>> 8) & 0xff)]! ^
      t[5 * 256 + ((low >>> 16) & 0xff)]! ^
      t[4 * 256 + (low >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
