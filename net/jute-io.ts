// Jute, ZooKeeper's serialization: big-endian int (4), long (8), boolean (1), buffer and ustring as
// an int length then bytes (-1 = null), vector as an int count then elements (-1 = null). A reader
// that only ever throws JuteError on bad input, with every length bounded by the bytes left.

import { fromUtf8, utf8Length } from "../core/bytes.ts";
import { TextEncoder as NodeTextEncoder } from "node:util";
import { pooledBytes } from "./framing.ts";

const utf8Encoder = new NodeTextEncoder();

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

  /** Whether the bytes at the read position are `prefix` (the position does not move). */
  startsWith(prefix: Uint8Array): boolean {
    if (prefix.length > this.remaining) return false;
    const at = this.offset;
    for (let i = 0; i < prefix.length; i++) if (this.bytes[at + i] !== prefix[i]) return false;
    return true;
  }

  /** Moves the read position `count` bytes ahead. */
  skip(count: number): void {
    this.need(count, "skip");
    this.offset += count;
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new JuteError(`${what}: ${this.remaining} trailing bytes`);
  }
}

export class JuteWriter {
  // Written in place into pooled bytes (framing.ts pooledBytes): a reply costs no buffer of its
  // own, and finish() hands out a view of them.
  private bytes: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialBytes = 128) {
    this.bytes = pooledBytes(initialBytes);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, initialBytes);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const grown = pooledBytes(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, size);
  }

  int(v: number): this {
    this.reserve(4);
    this.view.setInt32(this.length, v);
    this.length += 4;
    return this;
  }

  long(v: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.length, BigInt.asIntN(64, v));
    this.length += 8;
    return this;
  }

  bool(v: boolean): this {
    this.reserve(1);
    this.bytes[this.length++] = v ? 1 : 0;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  buffer(bytes: Uint8Array | null): this {
    if (bytes === null) return this.int(-1);
    return this.int(bytes.length).raw(bytes);
  }

  ustring(s: string | null): this {
    if (s === null) return this.int(-1);
    const length = utf8Length(s);
    this.int(length);
    this.reserve(length);
    utf8Encoder.encodeInto(s, this.bytes.subarray(this.length, this.length + length));
    this.length += length;
    return this;
  }

  vector<T>(items: readonly T[] | null, element: (item: T) => void): this {
    if (items === null) return this.int(-1);
    this.int(items.length);
    for (const item of items) element(item);
    return this;
  }

  /** The bytes written: a view of the writer's own pooled bytes, not to be written to. */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}
