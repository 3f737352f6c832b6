// Planted bugs: protocol policies that break one rule each, for proving the simulator has teeth.
// They exist only here, under sim/test/; nothing in the production path can select them.

import type { ProtocolPolicy, StepFunction } from "../../core/replica/index.ts";
import { step, zabPolicy } from "../../core/replica/index.ts";
import type { LockRules } from "../../core/recipes/lock.ts";
import { bySequence, decideLock, lockRules } from "../../core/recipes/lock.ts";

export const plantedBugs: Record<string, ProtocolPolicy> = {
  /** The leader commits as soon as it has the proposal itself. */
  "commit-before-quorum": { ...zabPolicy, name: "commit-before-quorum", commitQuorum: () => 1 },
  /** Followers ACK what they have only logged, not made durable. */
  "ack-before-fsync": {
    ...zabPolicy,
    name: "ack-before-fsync",
    proposalLogged: (s, zxid, acknowledge) => acknowledge(s, zxid),
  },
  /**
   * Leader choice ignores history: votes compare server ids only, and discovery does not check
   * that the leader's history covers its followers' (both halves, or the second one saves the day).
   */
  "election-ignores-zxid": {
    ...zabPolicy,
    name: "election-ignores-zxid",
    voteIsBetter: (a, b) => a.leader > b.leader,
    leaderCovers: () => true,
  },
  /** The leader never truncates a follower's divergent tail; it only sends what follows it. */
  "skip-trunc": { ...zabPolicy, name: "skip-trunc", truncationPoint: () => undefined },
  /** A follower answers sync without asking the leader, so sync + read can be stale. */
  "sync-without-leader": {
    ...zabPolicy,
    name: "sync-without-leader",
    routeSync: (_throughLeader, answerLocally) => answerLocally(),
  },
};

/**
 * Planted bugs in the core's code rather than its policy: the real step function with one rule
 * broken on its way in or out. Only tests of the simulator's teeth use them.
 */
export const plantedSteps: Record<string, StepFunction> = {
  /** The clock moves only on ticks, so a touch between two ticks is dated at the earlier one. */
  "touch-dated-at-last-tick": (s, input, nowMs) =>
    step(s, input, input.type === "tick" ? nowMs : s.nowMs),
  /** Followers stop telling the leader which sessions they heard from. */
  "pong-forgets-sessions": (s, input, nowMs) => {
    const result = step(s, input, nowMs);
    result.effects = result.effects.map((effect) =>
      effect.type === "send" && effect.message.type === "PONG"
        ? { ...effect, message: { ...effect.message, touched: [] } }
        : effect,
    );
    return result;
  },
};

/**
 * Planted bugs in the lock recipe (core/recipes/lock.ts), also run by the election workload.
 * Only tests of the recipe checkers' teeth, and `--plant` on the command line, select them.
 */
export const plantedLockRules: Record<string, LockRules> = {
  /** The second contender thinks it holds too: it does not wait for its predecessor. */
  "lock-second-holds": {
    ...lockRules,
    name: "lock-second-holds",
    decide: (children, own, kind) => {
      const decision = decideLock(children, own, kind);
      if (decision.type !== "wait") return decision;
      const sorted = bySequence(children);
      return sorted.indexOf(own) <= 1 ? { type: "acquired" } : decision;
    },
  },
  /** A holder that learns its session expired goes on using the lock. */
  "lock-ignores-expiry": { ...lockRules, name: "lock-ignores-expiry", dropsLockOnExpiry: false },
};
