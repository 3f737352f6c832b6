// Planted bugs in the leader's decisions (core/prep.ts), for sim/teeth.test.ts (planted-code.ts has
// the others). The test's vi.mock of core/prep.ts loads this file while that module is being
// mocked, so nothing here may import it, or anything that does, except as a type.

import { Err } from "../../core/errors.ts";
import { parentPath } from "../../core/path.ts";
import type * as Prep from "../../core/prep.ts";
import { createModeInfo } from "../../core/types.ts";

type PrepModule = typeof Prep;

/** Bugs in the leader's decisions, planted by wrapping core/prep.ts (see the test's vi.mock). */
export const prepBugs = [
  "sequential-suffix-from-child-count",
  "ephemerals-kept-on-expiry",
  "multi-applies-ops-before-failure",
] as const;

/**
 * core/prep.ts with the named bug planted while `active()` returns its name. The module is
 * otherwise the original: every other export, and these two whenever no bug is active.
 */
export function plantedPrep(original: PrepModule, active: () => string | undefined): PrepModule {
  const prepareTxn: PrepModule["prepareTxn"] = (input, request) => {
    if (request.op === "multi" && active() === "multi-applies-ops-before-failure") {
      // The leader keeps the changes of the ops before the failing one in its view (and the tree
      // applies them: planted-code.ts patches Database for this bug too).
      const txn = original.prepareTxn(input, request);
      const ops = txn.body.type === "multi" ? txn.body.ops : [];
      const failedAt = ops.findIndex((op) => op.type === "error");
      if (failedAt <= 0) return txn;
      const prefix = original.prepareTxn(input, {
        op: "multi",
        ops: request.ops.slice(0, failedAt),
      });
      if (prefix.body.type !== "multi") return txn;
      return { ...txn, body: { type: "multi", ops: [...prefix.body.ops, ...ops.slice(failedAt)] } };
    }
    const sequential =
      request.op !== "multi" && "flags" in request && createModeInfo(request.flags)?.sequential;
    if (active() !== "sequential-suffix-from-child-count" || !sequential)
      return original.prepareTxn(input, request);
    // The suffix counts the parent's children instead of its cversion, which a delete lowers.
    const parent = input.pending.lookup(input.db, parentPath(request.path));
    const txn = original.prepareTxn(input, request);
    if (txn.body.type !== "create" || parent === undefined) return txn;
    const path = request.path + original.sequenceSuffix(parent.childCount);
    if (path === txn.body.path) return txn;
    const made = input.pending.lookup(input.db, txn.body.path)!;
    const parentAfter = input.pending.lookup(input.db, parentPath(request.path))!;
    input.pending.rollback(input.zxid);
    if (input.pending.lookup(input.db, path) !== undefined)
      return { ...txn, body: { type: "error", err: Err.NODEEXISTS } };
    input.pending.add(parentAfter);
    input.pending.add({ ...made, path });
    return { ...txn, body: { ...txn.body, path } };
  };
  const prepareCloseSession: PrepModule["prepareCloseSession"] = (input) => {
    const txn = original.prepareCloseSession(input);
    // An expiry is the leader's own close, with cxid 0; a client's close carries its xid.
    const expiry = input.ctx.cxid === 0;
    if (active() !== "ephemerals-kept-on-expiry" || !expiry || txn.body.type !== "closeSession")
      return txn;
    input.pending.rollback(input.zxid);
    return { ...txn, body: { type: "closeSession", ephemerals: [] } };
  };
  return { ...original, prepareTxn, prepareCloseSession };
}
