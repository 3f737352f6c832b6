// Socket writes gathered per turn of the event loop.

import type { Socket } from "node:net";

/** Sockets corked in this turn, uncorked together at its end (or earlier by sendCorked). */
let corked: Socket[] = [];

/**
 * Writes to a socket held corked until this turn of the event loop has run its I/O callbacks: the
 * replies to every request that arrived meanwhile, and every message to a peer of every step they
 * caused, leave in one write (writes were a seventh of the leader's CPU under write load).
 */
export function writeCorked(socket: Socket, bytes: Uint8Array): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    if (corked.length === 0) setImmediate(sendCorked);
    corked.push(socket);
  }
  socket.write(bytes);
}

/** Sends what this turn corked now, on every socket, instead of when the turn ends. */
export function sendCorked(): void {
  const sockets = corked;
  corked = [];
  for (const socket of sockets) socket.uncork();
}
