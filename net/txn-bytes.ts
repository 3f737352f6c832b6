// One encoding per txn on a server: the PROPOSAL to every follower and the log record carry the
// same bytes (encodeTxn's), computed once (or kept from the PROPOSAL a follower decoded them from)
// instead of once per use.

import { decodeTxn, encodeTxn } from "../core/storage.ts";
import type { Txn } from "../core/txn.ts";
import { pooledBytes } from "./framing.ts";
import { TurnCache } from "./turn-cache.ts";

/**
 * Encodings of the txns this turn of the event loop made or received. A turn is as long as they
 * are needed: the PROPOSALs, the log records (queued in the same turn) and a follower's decode
 * all happen in the step that made the txn; a txn sent later (a DIFF) is encoded again.
 */
const encoded = new TurnCache<Txn, Uint8Array>();

/** The txn's encodeTxn bytes; shared, never to be modified. */
export function txnBytes(txn: Txn): Uint8Array {
  let bytes = encoded.get(txn);
  if (bytes === undefined) encoded.set(txn, (bytes = encodeTxn(txn, pooledBytes)));
  return bytes;
}

/** Decodes a txn and keeps `bytes` as its encoding (they must not change afterwards). */
export function decodeTxnKeepingBytes(bytes: Uint8Array): Txn {
  const txn = decodeTxn(bytes);
  encoded.set(txn, bytes);
  return txn;
}
