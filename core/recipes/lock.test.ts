import { describe, expect, it } from "vitest";
import { utf8 } from "../bytes.ts";
import { Err } from "../errors.ts";
import type { Reply } from "../requests.ts";
import type { Stat } from "../types.ts";
import { zxid } from "../types.ts";
import type { LockNotice, RecipeStep } from "./lock.ts";
import { LockMachine } from "./lock.ts";
import type { QueueNotice } from "./queue.ts";
import { QueueMachine } from "./queue.ts";

const seq = (n: number) => String(n).padStart(10, "0");
const stat = (czxid: bigint, version = 0) => ({ czxid: zxid(czxid), version }) as unknown as Stat;
const ok = (fields: Partial<Reply> = {}): Reply => ({ err: Err.OK, zxid: zxid(1n), ...fields });
const err = (code: number): Reply => ({ err: code, zxid: zxid(1n) });

/** The one request of a step the machine waits on, as `op path`. */
function only<N>(step: RecipeStep<N>): { tag: number; what: string } {
  expect(step.requests).toHaveLength(1);
  const { tag, request } = step.requests[0]!;
  return { tag, what: "path" in request ? `${request.op} ${request.path}` : request.op };
}

describe("lock machine (no I/O)", () => {
  it("creates its node, waits on its predecessor only, holds when that one goes", () => {
    const m = new LockMachine({ path: "/l" });
    m.connected();
    let r = only(m.acquire("a1"));
    expect(r.what).toBe("create /l");
    r = only(m.reply(r.tag, ok()));
    expect(r.what).toBe("create2 /l/_c_a1.0-lock-");
    const own = `_c_a1.0-lock-${seq(3)}`;
    r = only(m.reply(r.tag, ok({ path: `/l/${own}`, stat: stat(0x107n) })));
    expect(r.what).toBe("getChildren /l");
    const children = [`_c_x-lock-${seq(1)}`, `_c_y-lock-${seq(2)}`, own];
    r = only(m.reply(r.tag, ok({ children })));
    expect(r.what).toBe(`exists /l/_c_y-lock-${seq(2)}`);
    expect(m.reply(r.tag, ok({ stat: stat(0x106n) })).requests).toEqual([]);
    expect(m.watch(`/l/_c_x-lock-${seq(1)}`).requests).toEqual([]); // not the one it waits on
    r = only(m.watch(`/l/_c_y-lock-${seq(2)}`));
    const step = m.reply(r.tag, ok({ children: [`_c_x-lock-${seq(1)}`, own] }));
    expect(only(step).what).toBe(`exists /l/_c_x-lock-${seq(1)}`);
    const last = m.reply(only(step).tag, err(Err.NONODE));
    const held = m.reply(only(last).tag, ok({ children: [own] }));
    expect(held.notices).toEqual<LockNotice[]>([
      { type: "acquired", node: `/l/${own}`, token: zxid(0x107n), again: false },
    ]);
    expect(only(m.release()).what).toBe(`delete /l/${own}`);
  });

  it("finds its node after a lost create reply, and deletes an orphan of the same session", () => {
    const m = new LockMachine({ path: "/l" });
    m.connected();
    const parent = only(m.acquire("a1"));
    const create = only(m.reply(parent.tag, ok()));
    m.disconnected();
    const find = only(m.connected());
    expect(find.what).toBe("getChildren /l");
    // The create did not apply: a new attempt under a fresh prefix.
    const retry = only(m.reply(find.tag, ok({ children: [] })));
    expect(retry.what).toBe("create2 /l/_c_a1.1-lock-");
    expect(m.reply(create.tag, ok()).requests).toEqual([]); // a stale reply is ignored
    const own = `_c_a1.1-lock-${seq(5)}`;
    const list = only(m.reply(retry.tag, ok({ path: `/l/${own}`, stat: stat(9n) })));
    // The first create applied late: its node is an orphan, deleted, and does not block us.
    const step = m.reply(list.tag, ok({ children: [`_c_a1.0-lock-${seq(4)}`, own] }));
    expect(step.requests.map((q) => q.request.op)).toEqual(["delete"]);
    expect(step.notices.map((n) => n.type)).toEqual(["acquired"]);
  });

  it("suspends a holder on a connection loss, confirms on reconnect, loses on expiry", () => {
    const m = new LockMachine({ path: "/l" });
    m.connected();
    const own = `_c_a-lock-${seq(1)}`;
    const p = only(m.acquire("a"));
    const c = only(m.reply(p.tag, err(Err.NODEEXISTS)));
    const l = only(m.reply(c.tag, ok({ path: `/l/${own}`, stat: stat(2n) })));
    m.reply(l.tag, ok({ children: [own] }));
    expect(m.disconnected().notices).toEqual([{ type: "suspended" }]);
    const check = only(m.connected());
    expect(m.reply(check.tag, ok({ children: [own] })).notices[0]).toMatchObject({ again: true });
    m.disconnected();
    expect(m.expired().notices).toEqual([{ type: "lost", why: "expired" }]);
    expect(m.phase).toBe("idle");
    expect(m.holding).toBe(false);
  });
});

describe("queue machine (no I/O)", () => {
  it("takes the lowest item: read, then delete at its version; the next if another took it", () => {
    const q = new QueueMachine("/q");
    q.connected();
    const sync = only(q.take(true));
    expect(sync.what).toBe("sync /q");
    const list = only(q.reply(sync.tag, ok()));
    const items = [`item-${seq(2)}`, `item-${seq(1)}`];
    const read = only(q.reply(list.tag, ok({ children: items })));
    expect(read.what).toBe(`getData /q/item-${seq(1)}`);
    const gone = only(q.reply(read.tag, err(Err.NONODE)));
    expect(gone.what).toBe(`getData /q/item-${seq(2)}`);
    const del = q.reply(gone.tag, ok({ data: utf8("x"), stat: stat(1n, 0) }));
    expect(del.requests[0]!.request).toMatchObject({ op: "delete", version: 0 });
    expect(q.disconnected().notices).toEqual<QueueNotice[]>([
      { type: "takeAmbiguous", node: `item-${seq(2)}`, data: utf8("x") },
    ]);
  });

  it("reports a put whose reply was lost as ambiguous, never retrying it", () => {
    const q = new QueueMachine("/q");
    q.connected();
    const put = only(q.put(utf8("a")));
    const parent = only(q.reply(put.tag, err(Err.NONODE)));
    expect(parent.what).toBe("create /q");
    only(q.reply(parent.tag, ok()));
    expect(q.disconnected().notices).toEqual([{ type: "putAmbiguous" }]);
    expect(q.connected().requests).toEqual([]);
  });
});
