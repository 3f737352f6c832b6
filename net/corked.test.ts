import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { endAfterWrites, writableBytes, writeCorked } from "./corked.ts";

/** What a socket was asked to do, in order. */
function fakeSocket() {
  const calls: string[] = [];
  const socket = {
    destroyed: false,
    writableEnded: false,
    writableLength: 0,
    write(bytes: Uint8Array) {
      calls.push(`write ${[...bytes].join(",")}`);
      return true;
    },
    end() {
      socket.writableEnded = true;
      calls.push("end");
    },
  };
  return { socket, asSocket: socket as unknown as Socket, calls };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("net: writes gathered per turn", () => {
  it("sends a turn's frames to each socket as one write, in order", async () => {
    const a = fakeSocket();
    const b = fakeSocket();
    writeCorked(a.asSocket, new Uint8Array([1, 2]));
    writeCorked(b.asSocket, new Uint8Array([9]));
    writeCorked(a.asSocket, new Uint8Array([3]));
    expect(a.calls).toEqual([]);
    expect(writableBytes(a.asSocket)).toBe(3);
    await turn();
    expect(a.calls).toEqual(["write 1,2,3"]);
    expect(b.calls).toEqual(["write 9"]);
    expect(writableBytes(a.asSocket)).toBe(0);
  });

  it("lets a large frame out after what was gathered before it", async () => {
    const a = fakeSocket();
    const big = new Uint8Array(64 * 1024).fill(7);
    writeCorked(a.asSocket, new Uint8Array([1]));
    writeCorked(a.asSocket, big);
    writeCorked(a.asSocket, new Uint8Array([2]));
    expect(a.calls.length).toBe(2);
    expect(a.calls[0]).toBe("write 1");
    expect(a.calls[1]!.startsWith("write 7,7")).toBe(true);
    await turn();
    expect(a.calls[2]).toBe("write 2");
  });

  it("sends what was gathered before the FIN, and nothing to a closed socket", async () => {
    const a = fakeSocket();
    writeCorked(a.asSocket, new Uint8Array([4]));
    endAfterWrites(a.asSocket);
    expect(a.calls).toEqual(["write 4", "end"]);
    const b = fakeSocket();
    writeCorked(b.asSocket, new Uint8Array([5]));
    b.socket.destroyed = true;
    await turn();
    expect(a.calls).toEqual(["write 4", "end"]);
    expect(b.calls).toEqual([]);
  });
});
