// Test helper: a TCP proxy in front of one server that can be paused, as a process stopped with
// SIGSTOP or a link that goes silent would be: while paused no byte moves either way and new
// connections are accepted but not forwarded.

import { createConnection, createServer } from "node:net";
import type { Socket } from "node:net";

export interface PausableProxy {
  port: number;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startPausableProxy(targetPort: number): Promise<PausableProxy> {
  let paused = false;
  const links = new Set<{ sockets: Socket[]; flush: () => void }>();
  const server = createServer((downstream) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    // Forwarded by hand, not piped: a pipe resumes its source on drain, which would unpause it.
    const held: [Socket, Buffer][] = [];
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (paused) held.push([to, chunk]);
      else to.write(chunk);
    };
    downstream.on("data", forward(upstream));
    upstream.on("data", forward(downstream));
    const link = {
      sockets: [downstream, upstream],
      flush: () => {
        for (const [to, chunk] of held.splice(0)) to.write(chunk);
      },
    };
    links.add(link);
    const end = () => {
      if (paused) return void setTimeout(end, 20); // a silent link does not hang up either
      links.delete(link);
      downstream.destroy();
      upstream.destroy();
    };
    for (const s of link.sockets) {
      s.on("error", end);
      s.on("close", end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const link of links) link.flush();
    },
    async close() {
      paused = false;
      for (const link of links) for (const s of link.sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
