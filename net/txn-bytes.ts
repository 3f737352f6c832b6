// One encoding per txn on a server: the PROPOSAL to every follower, the log record and the
// snapshotter's feed all carry the same bytes (encodeTxn's), computed once (or kept from the
// PROPOSAL a follower decoded them from) instead of once per use.

import { decodeTxn, encodeTxn, writeLogRecordHeader } from "../core/storage.ts";
import type { Txn } from "../core/txn.ts";

const encoded = new WeakMap<Txn, Uint8Array>();

/** The txn's encodeTxn bytes; shared, never to be modified. */
export function txnBytes(txn: Txn): Uint8Array {
  let bytes = encoded.get(txn);
  if (bytes === undefined) encoded.set(txn, (bytes = encodeTxn(txn)));
  return bytes;
}

/** Keeps a copy of `payload` as the txn's encoding (a record read back from the log). */
export function keepTxnBytes(txn: Txn, payload: Uint8Array): void {
  encoded.set(txn, payload.slice());
}

/** Decodes a txn and keeps `bytes` as its encoding (they must not change afterwards). */
export function decodeTxnKeepingBytes(bytes: Uint8Array): Txn {
  const txn = decodeTxn(bytes);
  encoded.set(txn, bytes);
  return txn;
}

/** The txns as log records (core/storage.ts's format), in pieces for one gathered write. */
export function logRecordPieces(txns: readonly Txn[], into: Uint8Array[]): void {
  const headers = new Uint8Array(8 * txns.length);
  const view = new DataView(headers.buffer);
  txns.forEach((txn, i) => {
    const payload = txnBytes(txn);
    writeLogRecordHeader(view, 8 * i, payload);
    into.push(headers.subarray(8 * i, 8 * i + 8), payload);
  });
}

/** Txns packed as length-prefixed encodings in one buffer: a cheap message to a worker. */
export function packTxns(txns: readonly Txn[]): Uint8Array {
  let size = 0;
  const parts = txns.map((txn) => {
    const bytes = txnBytes(txn);
    size += 4 + bytes.length;
    return bytes;
  });
  const packed = new Uint8Array(size);
  const view = new DataView(packed.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    packed.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return packed;
}

export function unpackTxns(packed: Uint8Array): Txn[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const txns: Txn[] = [];
  for (let offset = 0; offset < packed.length; ) {
    const length = view.getUint32(offset);
    txns.push(decodeTxn(packed.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  return txns;
}
