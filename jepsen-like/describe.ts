// One line per operation, the same text in the verdict, the HTML report and test failures, e.g.
// `#12 p3 s=0x1a setData /k "v1" v=4 -> ok v5 @0x100000003` or `#13 p1 getData /k sync -> ?`.

import { errName } from "../core/errors.ts";
import { hex64 } from "./history.ts";
import type { OpResult, SubOp } from "./history.ts";
import type { Operation } from "./operations.ts";

const quote = (text: string): string =>
  JSON.stringify(text.length > 24 ? text.slice(0, 21) + "..." : text);

function describeSub(sub: SubOp): string {
  const parts: string[] = [sub.op, sub.path];
  if (sub.data !== undefined) parts.push(quote(sub.data));
  if (sub.mode !== undefined && sub.mode !== "persistent") parts.push(sub.mode);
  if (sub.version !== undefined && sub.version !== -1) parts.push(`v=${sub.version}`);
  return parts.join(" ");
}

function describeCall(op: Operation): string {
  if (op.op === "multi") return `multi [${(op.args.ops ?? []).map(describeSub).join("; ")}]`;
  if (op.op === "closeSession")
    return op.synthetic === "expiry" ? "session expiry" : "closeSession";
  const parts: string[] = [op.op, op.path ?? ""];
  if (op.args.data !== undefined) parts.push(quote(op.args.data));
  if (op.args.mode !== undefined && op.args.mode !== "persistent") parts.push(op.args.mode);
  if (op.args.version !== undefined && op.args.version !== -1) parts.push(`v=${op.args.version}`);
  if (op.args.sync === true) parts.push("sync");
  if (op.args.watch === true) parts.push("watch");
  return parts.join(" ");
}

function describeResult(result: OpResult | undefined): string {
  if (result === undefined) return "ok";
  const parts: string[] = ["ok"];
  if (result.path !== undefined) parts.push(result.path);
  if (result.exists === false) parts.push("absent");
  if (result.data !== undefined) parts.push(quote(result.data));
  if (result.children !== undefined) parts.push(`[${result.children.join(",")}]`);
  if (result.version !== undefined) parts.push(`v${result.version}`);
  if (result.mzxid !== undefined) parts.push(`m=${hex64(result.mzxid)}`);
  return parts.join(" ");
}

function describeReturn(op: Operation): string {
  if (op.status === "ok") return describeResult(op.result);
  if (op.status === "fail") return errName(op.err);
  return op.err === 0 ? "?" : `? (${errName(op.err)})`;
}

export function describeOperation(op: Operation): string {
  const zxid = op.zxid === undefined ? "" : ` @${hex64(op.zxid)}`;
  return (
    `#${op.id} p${op.process} s=${op.session} ${describeCall(op)} -> ${describeReturn(op)}` + zxid
  );
}
