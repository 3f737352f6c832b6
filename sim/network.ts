// TCP-like links between servers. Per ordered pair, messages arrive in the order sent (FIFO) after
// a drawn latency; a message is lost only when its connection breaks, and then both ends are told
// (peerDown). A cut link (partition) breaks its connection and keeps it down; a clogged direction
// delays delivery without breaking anything (FoundationDB's swizzle-clogging). Once a cut heals,
// the connection comes back after a reconnect delay (peerUp at both ends).

import type { NodeId } from "../core/replica/index.ts";
import type { Rng } from "./rng.ts";

export interface NetworkOptions {
  latencyMeanMs: number;
  /** Chance a message takes an extra long path (×10 latency), still in order. */
  slowMessageChance: number;
  reconnectDelayMs: number;
}

// Numeric keys, looked up for every message. Endpoints are server ids (1..255) and client
// connections (negative connection ids); each key names one link as long as |id| < 2^20.
const idSpan = 1 << 21;
const pairKey = (a: NodeId, b: NodeId) => (a < b ? a * idSpan + b : b * idSpan + a);
/**
 * A client's direction gets a small negative key (connection times 256, less the server): keys
 * from * 2^21 + to of a negative `from` were doubles, which a Map hashes and boxes on every send.
 */
const linkKey = (from: NodeId, to: NodeId) => (from < 0 ? from * 256 - to : from * idSpan + to);

export class SimNetwork {
  /** Connection generation per unordered pair; odd = up, even = down. */
  private readonly generation = new Map<number, number>();
  private readonly lastArrival = new Map<number, number>();
  private readonly cut = new Set<number>();
  private readonly clogUntil = new Map<number, number>();
  messagesSent = 0;

  constructor(
    private readonly rng: Rng,
    readonly options: NetworkOptions,
  ) {}

  isUp(a: NodeId, b: NodeId): boolean {
    return (this.generation.get(pairKey(a, b)) ?? 0) % 2 === 1;
  }

  generationOf(a: NodeId, b: NodeId): number {
    return this.generation.get(pairKey(a, b)) ?? 0;
  }

  isCut(a: NodeId, b: NodeId): boolean {
    return this.cut.has(pairKey(a, b));
  }

  bringUp(a: NodeId, b: NodeId): void {
    const key = pairKey(a, b);
    if (!this.isUp(a, b)) this.generation.set(key, (this.generation.get(key) ?? 0) + 1);
  }

  /** Breaks the connection (messages in flight are lost); returns whether it was up. */
  breakLink(a: NodeId, b: NodeId): boolean {
    if (!this.isUp(a, b)) return false;
    const key = pairKey(a, b);
    this.generation.set(key, this.generation.get(key)! + 1);
    this.lastArrival.delete(linkKey(a, b));
    this.lastArrival.delete(linkKey(b, a));
    return true;
  }

  /** When a message sent now from `from` to `to` arrives, keeping FIFO per direction. */
  arrivalTime(from: NodeId, to: NodeId, nowMs: number): number {
    this.messagesSent++;
    let latency = this.rng.exponential(this.options.latencyMeanMs) + 0.05;
    if (this.rng.chance(this.options.slowMessageChance)) latency *= 10;
    const key = linkKey(from, to);
    const at = Math.max(nowMs + latency, this.lastArrival.get(key) ?? 0);
    this.lastArrival.set(key, at);
    return at;
  }

  setCut(a: NodeId, b: NodeId, cut: boolean): void {
    if (cut) this.cut.add(pairKey(a, b));
    else this.cut.delete(pairKey(a, b));
  }

  clog(from: NodeId, to: NodeId, untilMs: number): void {
    this.clogUntil.set(linkKey(from, to), untilMs);
  }

  /** Until when this direction is clogged, or undefined if it flows. */
  cloggedUntil(from: NodeId, to: NodeId, nowMs: number): number | undefined {
    const until = this.clogUntil.get(linkKey(from, to));
    return until !== undefined && until > nowMs ? until : undefined;
  }

  unclog(from: NodeId, to: NodeId): void {
    this.clogUntil.delete(linkKey(from, to));
  }

  unclogAll(): void {
    this.clogUntil.clear();
  }
}
