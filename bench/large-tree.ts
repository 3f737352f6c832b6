// A large tree's snapshot for the benchmarks that need one: /pK/nJ, 1000 children per parent,
// 100-byte data, built through the standalone core and encoded once.

import { utf8 } from "../core/bytes.ts";
import { encodeSnapshot } from "../core/storage.ts";
import { StandaloneServer, standaloneConfig } from "../core/standalone.ts";
import { openAclUnsafe } from "../core/types.ts";

export function buildSnapshot(nodeCount: number): Uint8Array {
  const server = new StandaloneServer(standaloneConfig());
  const ctx = { sessionId: server.createSession(30_000, 0).sessionId, cxid: 0, authIds: [] };
  const payload = utf8("x".repeat(100));
  for (let i = 0; i < nodeCount; i++) {
    const path = i % 1000 === 0 ? `/p${i / 1000}` : `/p${Math.floor(i / 1000)}/n${i % 1000}`;
    server.submit(
      ctx,
      { op: "create", path, data: payload, acl: openAclUnsafe, flags: 0, ttl: -1 },
      0,
    );
    if (i % 200_000 === 0)
      process.stdout.write(
        `\rbuilding ${nodeCount.toLocaleString()}-znode tree: ${i.toLocaleString()}`,
      );
  }
  const started = performance.now();
  const bytes = encodeSnapshot(server.db);
  console.log(
    `\rbuilt ${nodeCount.toLocaleString()} znodes; ` +
      `one snapshot = ${(bytes.length / 1e6).toFixed(0)} MB, ` +
      `${((performance.now() - started) / 1000).toFixed(2)} s to serialize`,
  );
  return bytes;
}
