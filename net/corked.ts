// Socket writes gathered per turn of the event loop.

import type { Socket } from "node:net";

/**
 * Writes to a socket held corked until this turn of the event loop has run its I/O callbacks: the
 * replies to every request that arrived meanwhile, and every message to a peer of every step they
 * caused, leave in one write (writes were a seventh of the leader's CPU under write load).
 */
export function writeCorked(socket: Socket, bytes: Uint8Array): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    setImmediate(() => socket.uncork());
  }
  socket.write(bytes);
}
