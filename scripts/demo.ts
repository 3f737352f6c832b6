// `npm start` until the network server lands: drives the core's standalone server through
// ZooKeeper's lock recipe (ephemeral-sequential nodes under /locks) with three clients, one of
// which dies, then proves event sourcing by replaying the txn log to the same tree digest.

import { utf8 } from "../core/bytes.ts";
import { errName } from "../core/errors.ts";
import type { Reply, Request, RequestContext } from "../core/requests.ts";
import { replay, StandaloneServer, standaloneConfig } from "../core/standalone.ts";
import { describeTxn } from "../core/txn.ts";
import { CreateMode, hex, openAclUnsafe } from "../core/types.ts";

const server = new StandaloneServer(standaloneConfig({ keepLog: true }));
let clockMs = 1_000;
const clients = ["alice", "bob", "carol"].map((name) => ({
  name,
  ctx: {
    sessionId: server.createSession(10_000, clockMs).sessionId,
    cxid: 0,
    authIds: [],
  } as RequestContext,
}));

function send(client: (typeof clients)[number], request: Request): Reply {
  clockMs += 7;
  client.ctx.cxid++;
  const reply = server.submit(client.ctx, request, clockMs);
  const what = "path" in request ? `${request.op} ${request.path}` : request.op;
  const result =
    reply.err === 0 ? (reply.path ?? reply.children?.join(",") ?? "ok") : errName(reply.err);
  console.log(
    `${client.name.padEnd(6)} ${what.padEnd(28)} -> ${result.padEnd(36)} zxid=${hex(reply.zxid)}`,
  );
  return reply;
}

const [alice, bob, carol] = clients as [
  (typeof clients)[number],
  (typeof clients)[number],
  (typeof clients)[number],
];
send(alice, {
  op: "create",
  path: "/locks",
  data: utf8(""),
  acl: openAclUnsafe,
  flags: CreateMode.PERSISTENT,
  ttl: -1,
});
send(bob, {
  op: "create",
  path: "/locks",
  data: utf8(""),
  acl: openAclUnsafe,
  flags: CreateMode.PERSISTENT,
  ttl: -1,
});
for (const client of clients) {
  send(client, {
    op: "create",
    path: "/locks/lock-",
    data: utf8(client.name),
    acl: openAclUnsafe,
    flags: CreateMode.EPHEMERAL_SEQUENTIAL,
    ttl: -1,
  });
}
const holder = () => {
  const children = send(carol, { op: "getChildren", path: "/locks", watch: false }).children ?? [];
  return [...children].sort()[0];
};
console.log(`lock held by ${holder()} (lowest sequence number wins)`);
const closed = server.closeSession(alice.ctx.sessionId, (clockMs += 7));
console.log(
  `alice's session closes at zxid=${hex(closed.zxid)}: her ephemeral lock node goes with it`,
);
console.log(`lock held by ${holder()}`);
send(bob, { op: "setData", path: "/locks", data: utf8("owner=bob"), version: 0 });
send(carol, { op: "setData", path: "/locks", data: utf8("owner=carol"), version: 0 });

console.log("\ntxn log:");
for (const txn of server.log) console.log(`  ${describeTxn(txn)}`);
const rebuilt = replay(server.log, { extendedTypesEnabled: false });
const same = rebuilt.tree.digest() === server.db.tree.digest();
console.log(
  `\nreplayed ${server.log.length} txns onto an empty tree: digest ${hex(rebuilt.tree.digest())} ` +
    `${same ? "equals" : "DIFFERS FROM"} the live tree's ${hex(server.db.tree.digest())}`,
);
process.exit(same ? 0 : 1);
