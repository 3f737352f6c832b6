// Test and benchmark helper: a server's data directory as a long-running server leaves it, built
// straight through the core and the storage formats instead of over the network (much faster):
// /pK/nJ creates, 1000 children per parent, 100-byte data; a snapshot after `snapshotAfter`
// creates and every later create in the log after it.

import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { utf8 } from "../../core/bytes.ts";
import { encodeLogRecord, encodeSnapshot } from "../../core/storage.ts";
import { StandaloneServer, standaloneConfig } from "../../core/standalone.ts";
import type { Txn } from "../../core/txn.ts";
import { openAclUnsafe } from "../../core/types.ts";

const hex16 = (z: bigint) => z.toString(16).padStart(16, "0");

/** The path of the i-th create: a parent every 1000, its children in between. */
export const nodePath = (i: number): string =>
  i % 1000 === 0 ? `/p${i / 1000}` : `/p${Math.floor(i / 1000)}/n${i % 1000}`;

export interface BuiltDataDir {
  snapshotZxid: bigint;
  logTxns: number;
  lastPath: string;
}

/**
 * Writes `creates` znodes into `dataDir` (created if needed): snapshot.<zxid> holding the first
 * `snapshotAfter` of them and log.<zxid> holding the rest, as records of the same txns a server
 * would have logged (zxids of epoch 1). `progress` is called now and then with creates done.
 */
export function buildDataDir(
  dataDir: string,
  options: { creates: number; snapshotAfter: number; progress?: (done: number) => void },
): BuiltDataDir {
  const { creates, snapshotAfter } = options;
  mkdirSync(dataDir, { recursive: true });
  const server = new StandaloneServer(standaloneConfig({ keepLog: true }));
  // The session's timeout is the largest a server accepts, so a restart does not expire it at once.
  const ctx = { sessionId: server.createSession(40_000, 1000).sessionId, cxid: 0, authIds: [] };
  const payload = utf8("x".repeat(100));
  let snapshotZxid = 0n;
  let logFd: number | undefined;
  let logTxns = 0;
  const flushLog = (log: Txn[]) => {
    if (logFd === undefined) return;
    const records = log.map(encodeLogRecord);
    const bytes = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
    let offset = 0;
    for (const record of records) {
      bytes.set(record, offset);
      offset += record.length;
    }
    writeSync(logFd, bytes);
    logTxns += log.length;
  };
  for (let i = 0; i < creates; i++) {
    if (i === snapshotAfter) {
      snapshotZxid = server.db.lastZxid;
      writeFileSync(join(dataDir, `snapshot.${hex16(snapshotZxid)}`), encodeSnapshot(server.db));
      server.log.length = 0;
      logFd = openSync(join(dataDir, `log.${hex16(snapshotZxid + 1n)}`), "w");
    }
    const request = {
      op: "create" as const,
      path: nodePath(i),
      data: payload,
      acl: openAclUnsafe,
      flags: 0,
      ttl: -1,
    };
    ctx.cxid++;
    const reply = server.submit(ctx, request, 1000 + i);
    if (reply.err !== 0) throw new Error(`create ${request.path} failed: ${reply.err}`);
    if (server.log.length >= 10_000) {
      flushLog(server.log);
      server.log.length = 0;
    }
    if (i % 50_000 === 0) options.progress?.(i);
  }
  if (logFd === undefined) {
    snapshotZxid = server.db.lastZxid;
    writeFileSync(join(dataDir, `snapshot.${hex16(snapshotZxid)}`), encodeSnapshot(server.db));
  } else {
    flushLog(server.log);
    closeSync(logFd);
  }
  writeFileSync(join(dataDir, "epochs"), "1 1\n");
  options.progress?.(creates);
  return { snapshotZxid, logTxns, lastPath: nodePath(creates - 1) };
}
