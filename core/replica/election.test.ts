import { describe, expect, it } from "vitest";
import { zxid } from "../types.ts";
import { ReplicaDriver } from "./driver.ts";
import type { Input } from "./io.ts";
import type { PeerMessage } from "./messages.ts";
import { replicaConfig } from "./state.ts";

const vote3: Extract<PeerMessage, { type: "NOTIFICATION" }>["vote"] = {
  leader: 3,
  epoch: 0,
  zxid: zxid(0n),
};

describe("election", () => {
  it("counts a backer that already follows it: the candidate still leads", () => {
    // Server 1 backs 3 in round 1, then decides first and says it follows 3 before 3's own
    // finalize wait is over. That "following" notice used to replace 1's vote in 3's tally, so 3
    // never had a quorum at decision time, and 1 waited for a leader that never led.
    const node = new ReplicaDriver(3, replicaConfig({ id: 3, peers: [1, 2, 3] }));
    let now = 1_000;
    node.start(undefined, now);
    const from1 = (state: "looking" | "following"): Input => ({
      type: "peerMessage",
      from: 1,
      message: { type: "NOTIFICATION", vote: vote3, round: 1, state },
    });
    node.deliver({ type: "peerUp", peer: 1 }, now);
    node.deliver(from1("looking"), (now += 5));
    node.deliver(from1("following"), (now += 5));
    node.deliver({ type: "tick" }, (now += 400));
    expect(node.inspect()!.status.role).toBe("leading");
  });
});
