// Jute, ZooKeeper's serialization: big-endian int (4), long (8), boolean (1), buffer and ustring as
// an int length then bytes (-1 = null), vector as an int count then elements (-1 = null). A reader
// that only ever throws JuteError on bad input, with every length bounded by the bytes left.

import { fromUtf8, utf8 } from "../core/bytes.ts";

export class JuteError extends Error {
  override name = "JuteError";
}

export class JuteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || n > this.remaining)
      throw new JuteError(`${what}: need ${n} bytes, ${this.remaining} left`);
  }

  int(): number {
    this.need(4, "int");
    const v = this.view.getInt32(this.offset);
    this.offset += 4;
    return v;
  }

  long(): bigint {
    this.need(8, "long");
    const v = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return v;
  }

  bool(): boolean {
    this.need(1, "boolean");
    return this.view.getUint8(this.offset++) !== 0;
  }

  /** A buffer where null means nothing (a password, credentials): null (-1) reads as empty. */
  buffer(): Uint8Array {
    return this.nullableBuffer() ?? new Uint8Array(0);
  }

  /** A buffer that may be null (-1): znode data, which ZooKeeper stores and returns as null. */
  nullableBuffer(): Uint8Array | null {
    const length = this.int();
    if (length === -1) return null;
    this.need(length, "buffer");
    const v = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return v;
  }

  ustring(): string {
    const length = this.int();
    if (length === -1) return "";
    this.need(length, "ustring");
    const v = fromUtf8(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return v;
  }

  vector<T>(element: () => T): T[] {
    const count = this.int();
    if (count === -1) return [];
    // every element takes at least one byte, so a count past the bytes left is a lie
    this.need(count, "vector");
    return Array.from({ length: count }, element);
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new JuteError(`${what}: ${this.remaining} trailing bytes`);
  }
}

export class JuteWriter {
  private chunks: number[] = [];
  private parts: Uint8Array[] = [];
  private length = 0;
  private scratch = new DataView(new ArrayBuffer(8));

  private flushNumbers(): void {
    if (this.chunks.length === 0) return;
    this.parts.push(Uint8Array.from(this.chunks));
    this.chunks = [];
  }

  int(v: number): this {
    this.scratch.setInt32(0, v);
    for (let i = 0; i < 4; i++) this.chunks.push(this.scratch.getUint8(i));
    this.length += 4;
    return this;
  }

  long(v: bigint): this {
    this.scratch.setBigInt64(0, BigInt.asIntN(64, v));
    for (let i = 0; i < 8; i++) this.chunks.push(this.scratch.getUint8(i));
    this.length += 8;
    return this;
  }

  bool(v: boolean): this {
    this.chunks.push(v ? 1 : 0);
    this.length += 1;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.flushNumbers();
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }

  buffer(bytes: Uint8Array | null): this {
    if (bytes === null) return this.int(-1);
    return this.int(bytes.length).raw(bytes);
  }

  ustring(s: string | null): this {
    return s === null ? this.int(-1) : this.buffer(utf8(s));
  }

  vector<T>(items: readonly T[] | null, element: (item: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (const item of items) element(item);
    return this;
  }

  finish(): Uint8Array {
    this.flushNumbers();
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}
