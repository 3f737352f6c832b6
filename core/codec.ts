// A small big-endian binary writer and reader for the storage formats (log records, snapshots).
// Pure over Uint8Array so the simulator's disk and the real disk share the same bytes.

import { assert } from "./assert.ts";
import { fromUtf8, utf8 } from "./bytes.ts";

const nullLength = 0xffffffff;

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialBytes = 256) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
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
    this.view.setBigInt64(this.length, BigInt.asIntN(64, value));
    this.length += 8;
    return this;
  }

  /** A JS number that is an integer within ±2^53 (times in ms), stored as 64 bits. */
  int53(value: number): this {
    assert(Number.isSafeInteger(value), "int53 fits");
    return this.i64(BigInt(value));
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

  string(value: string): this {
    return this.bytes(utf8(value));
  }

  raw(value: Uint8Array): this {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Thrown on truncated or malformed input; callers at the storage boundary turn it into "torn". */
export class DecodeError extends Error {
  override name = "DecodeError";
}

export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(private readonly bytesIn: Uint8Array) {
    this.view = new DataView(bytesIn.buffer, bytesIn.byteOffset, bytesIn.byteLength);
  }

  get remaining(): number {
    return this.bytesIn.length - this.offset;
  }

  private need(bytes: number): void {
    if (bytes < 0 || this.remaining < bytes) throw new DecodeError(`need ${bytes} bytes, have ${this.remaining}`);
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

  int53(): number {
    const value = this.i64();
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new DecodeError("int53 out of range");
    }
    return Number(value);
  }

  bytes(): Uint8Array {
    const length = this.u32();
    this.need(length);
    const value = this.bytesIn.slice(this.offset, this.offset + length);
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
    return fromUtf8(this.bytes());
  }
}

const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE), the checksum on every log record and snapshot. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
