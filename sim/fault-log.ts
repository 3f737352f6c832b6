// What the faults did, when: the spans the report draws on the client timelines' time axis. The
// world writes down when each server went down and came back and when a crash damaged its disk,
// whoever caused it; the nemesis writes down the network and clock faults it injects.

import type { NodeId } from "../core/replica/index.ts";
import type { FaultSpan } from "../jepsen-like/report/visualization.ts";

/** History times are µs of virtual time (sim/run.ts records them so). */
const us = (ms: number): number => Math.round(ms * 1000);

export class FaultLog {
  private readonly spans: FaultSpan[] = [];
  private readonly downSince = new Map<NodeId, { atMs: number; why: string | undefined }>();
  /** Spans cut short when the safety phase ends (the nemesis heals everything then). */
  private readonly healable: { span: FaultSpan; endMs: number }[] = [];

  down(node: NodeId, atMs: number, why?: string): void {
    if (!this.downSince.has(node)) this.downSince.set(node, { atMs, why });
  }

  up(node: NodeId, atMs: number): void {
    const since = this.downSince.get(node);
    if (since === undefined) return;
    this.downSince.delete(node);
    this.spans.push(downSpan(node, since, atMs));
  }

  disk(node: NodeId, atMs: number, label: string): void {
    this.spans.push({
      lane: `n${node}`,
      kind: "disk",
      startUs: us(atMs),
      endUs: us(atMs),
      label: `n${node} ${label}`,
    });
  }

  /** A stalled disk: no fsync completes on it until `untilMs`. */
  stall(nodes: readonly NodeId[], fromMs: number, untilMs: number): void {
    for (const node of nodes) {
      const span: FaultSpan = {
        lane: `n${node}`,
        kind: "disk",
        startUs: us(fromMs),
        endUs: us(untilMs),
        label: `n${node} disk stalled`,
      };
      this.healable.push({ span, endMs: untilMs });
    }
  }

  clock(node: NodeId, atMs: number, label: string): void {
    this.spans.push({
      lane: `n${node}`,
      kind: "clock",
      startUs: us(atMs),
      endUs: us(atMs),
      label: `n${node} ${label}`,
    });
  }

  network(kind: "partition" | "clog", fromMs: number, untilMs: number, label: string): void {
    this.healable.push({
      span: { lane: "net", kind, startUs: us(fromMs), endUs: us(untilMs), label },
      endMs: untilMs,
    });
  }

  /**
   * Every span, in time order; network faults and stalls end by `healedAtMs` at the latest,
   * servers still down at `endMs`.
   */
  all(healedAtMs: number, endMs: number): FaultSpan[] {
    const network = this.healable
      .filter(({ span }) => span.startUs < us(healedAtMs))
      .map(({ span, endMs: until }) => ({ ...span, endUs: us(Math.min(until, healedAtMs)) }));
    const stillDown = [...this.downSince].map(([node, since]) => downSpan(node, since, endMs));
    return [...this.spans, ...network, ...stillDown].sort((a, b) => a.startUs - b.startUs);
  }
}

function downSpan(
  node: NodeId,
  since: { atMs: number; why: string | undefined },
  untilMs: number,
): FaultSpan {
  const why = since.why === undefined ? "" : ` (crashed ${since.why})`;
  const label = `n${node} down ${((untilMs - since.atMs) / 1000).toFixed(2)} s${why}`;
  return { lane: `n${node}`, kind: "crash", startUs: us(since.atMs), endUs: us(untilMs), label };
}
