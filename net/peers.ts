// Server-to-server links over TCP for the replication protocol. One connection per pair: the server
// with the higher id dials the lower one (ZooKeeper's rule), opening with a hello frame carrying
// its id and a fingerprint of the ensemble's server list, so that a server of another ensemble
// on a reused port (ids 1-3 are everyone's) is refused instead of joining this one's election;
// a newer connection from the same peer replaces an older one. A link that breaks, or whose
// send buffer grows past its bound (the peer is not keeping up), is closed and reported down; the
// core treats that as the loss of every message in flight, exactly its model of a link.

import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import type { NodeId, PeerMessage } from "../core/replica/index.ts";
import type { ServerEntry } from "./config.ts";
import { frame, Framer } from "./framing.ts";
import { writeCorked } from "./corked.ts";
import { TurnCache } from "./turn-cache.ts";
import { decodePeerMessage, encodePeerFrame } from "./peer-codec.ts";

export interface PeerHandlers {
  onMessage(from: NodeId, message: PeerMessage): void;
  onUp(peer: NodeId): void;
  onDown(peer: NodeId): void;
  log(message: string): void;
}

/** Snapshots travel as one frame, so the bound is large; a client frame's is jute.maxbuffer. */
export const peerFrameBytesMax = 1 << 30;
/** Bytes queued for a slow peer before the link is cut (it catches up by resyncing). */
export const peerSendBufferBytesMax = 256 << 20;
const helloMagic = 0x5a4b5045; // "ZKPE"
/** magic, server id, ensemble fingerprint. */
const helloBytes = 12;

/** FNV-1a over the ensemble's members (id, host, ports), in id order. */
export function ensembleFingerprint(servers: readonly ServerEntry[]): number {
  const text = [...servers]
    .sort((a, b) => a.id - b.id)
    .map((s) => `${s.id}=${s.host}:${s.peerPort}:${s.electionPort}`)
    .join(",");
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
const redialMs = 1000;

/**
 * Messages held for a peer behind one that is not ready yet (a SYNC whose snapshot is being
 * encoded).
 */
interface Held {
  socket: Socket;
  queue: (PeerMessage | Promise<PeerMessage>)[];
}

export class PeerTransport {
  /** Frames of messages already encoded for one peer, for the others they go to. */
  private readonly encoded = new TurnCache<PeerMessage, Uint8Array>();
  private readonly links = new Map<NodeId, Socket>();
  private readonly held = new Map<NodeId, Held>();
  private readonly snapshotBytes = new WeakMap<Socket, number>();
  private server: Server | undefined;
  private stopped = false;

  /** The same on every member of one ensemble; different, in practice, for any other. */
  private readonly fingerprint: number;

  constructor(
    private readonly self: ServerEntry,
    private readonly peers: ServerEntry[],
    private readonly handlers: PeerHandlers,
  ) {
    this.fingerprint = ensembleFingerprint([self, ...peers]);
  }

  /** Listens and dials; resolves once listening, rejects with the listener's error if it cannot. */
  start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    const listening = new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.once("listening", () => {
        server.off("error", reject);
        server.on("error", (error) => this.handlers.log(`peer listener: ${error.message}`));
        resolve();
      });
    });
    server.listen(this.self.peerPort, this.self.host === "0.0.0.0" ? undefined : this.self.host);
    for (const peer of this.peers) if (peer.id < this.self.id) this.dial(peer);
    return listening;
  }

  send(to: NodeId, message: PeerMessage): void {
    const socket = this.links.get(to);
    if (socket === undefined) return; // no link: lost, as the core expects of a down link
    const held = this.held.get(to);
    if (held !== undefined && held.socket === socket) return void held.queue.push(message);
    this.write(to, socket, message);
  }

  /**
   * Sends a message that is still being prepared, in its FIFO place: later sends to the same peer
   * wait behind it. If it fails, the link is cut (the core resyncs the peer), as for any lost link.
   */
  sendWhenReady(to: NodeId, ready: Promise<PeerMessage>): void {
    const socket = this.links.get(to);
    if (socket === undefined) return void ready.catch(() => {});
    const held = this.held.get(to);
    if (held !== undefined && held.socket === socket) return void held.queue.push(ready);
    const fresh: Held = { socket, queue: [ready] };
    this.held.set(to, fresh);
    void this.release(to, fresh);
  }

  /** Writes held messages in order, waiting for each one that is not ready. */
  private async release(to: NodeId, held: Held): Promise<void> {
    while (held.queue.length > 0) {
      const head = held.queue[0]!;
      let message: PeerMessage;
      try {
        message = head instanceof Promise ? await head : head;
      } catch (error) {
        this.handlers.log(
          `peer ${to}: could not prepare a message (${(error as Error).message}), closing the link`,
        );
        held.socket.destroy();
        for (const rest of held.queue) if (rest instanceof Promise) rest.catch(() => {});
        break;
      }
      held.queue.shift();
      // The link changed: what was held is lost with it.
      if (this.links.get(to) !== held.socket) break;
      this.write(to, held.socket, message);
    }
    for (const rest of held.queue) if (rest instanceof Promise) rest.catch(() => {});
    if (this.held.get(to) === held) this.held.delete(to);
  }

  private write(to: NodeId, socket: Socket, message: PeerMessage): void {
    // A snapshot is one big frame: the bound for what queues behind it starts after it.
    if (socket.writableLength > peerSendBufferBytesMax + (this.snapshotBytes.get(socket) ?? 0)) {
      this.handlers.log(
        `peer ${to}: send buffer over ${peerSendBufferBytesMax} bytes, cutting the link`,
      );
      socket.destroy();
      return;
    }
    // The leader sends one PROPOSAL or COMMIT object to every follower: encoded once for all.
    let bytes = this.encoded.get(message);
    if (bytes === undefined) this.encoded.set(message, (bytes = encodePeerFrame(message)));
    if (message.type === "SYNC" && message.snapshot !== undefined)
      this.snapshotBytes.set(socket, bytes.length);
    writeCorked(socket, bytes);
  }

  stop(): void {
    this.stopped = true;
    this.server?.close();
    for (const socket of this.links.values()) socket.destroy();
  }

  private dial(peer: ServerEntry): void {
    if (this.stopped) return;
    const socket = createConnection({ host: peer.host, port: peer.peerPort });
    socket.setNoDelay(true);
    socket.once("connect", () => {
      const hello = new Uint8Array(helloBytes);
      const view = new DataView(hello.buffer);
      view.setUint32(0, helloMagic);
      view.setUint32(4, this.self.id);
      view.setUint32(8, this.fingerprint);
      socket.write(frame(hello));
      this.attach(peer.id, socket);
    });
    socket.once("close", () => setTimeout(() => this.dial(peer), redialMs).unref());
    socket.on("error", () => {}); // "close" follows and redials
  }

  /** The dialer's first 16 bytes are its hello frame; whatever follows is replication traffic. */
  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    let received = new Uint8Array(0);
    const onData = (chunk: Buffer) => {
      const joined = new Uint8Array(received.length + chunk.length);
      joined.set(received);
      joined.set(chunk, received.length);
      received = joined;
      if (received.length < 4 + helloBytes) return;
      socket.off("data", onData);
      const view = new DataView(received.buffer, received.byteOffset, 4 + helloBytes);
      const hello = view.getInt32(0) === helloBytes && view.getUint32(4) === helloMagic;
      const id = hello ? view.getUint32(8) : -1;
      const sameEnsemble = hello && view.getUint32(12) === this.fingerprint;
      if (!this.peers.some((p) => p.id === id) || id <= this.self.id || !sameEnsemble) {
        this.handlers.log(
          "refusing a peer connection that is not a higher-numbered server of this ensemble " +
            `(id ${id}${hello && !sameEnsemble ? ", another ensemble's server list" : ""})`,
        );
        return void socket.destroy();
      }
      this.attach(id, socket, received.subarray(4 + helloBytes));
    };
    socket.on("data", onData);
    socket.on("error", () => {});
  }

  private attach(peer: NodeId, socket: Socket, leftover = new Uint8Array(0)): void {
    const previous = this.links.get(peer);
    if (previous !== undefined) {
      this.links.delete(peer);
      previous.destroy();
      this.handlers.onDown(peer);
    }
    this.links.set(peer, socket);
    this.handlers.onUp(peer);
    const framer = new Framer(peerFrameBytesMax);
    const receive = (bytes: Uint8Array) => {
      try {
        for (const payload of framer.push(bytes))
          this.handlers.onMessage(peer, decodePeerMessage(payload));
      } catch (error) {
        this.handlers.log(
          `peer ${peer}: bad frame (${(error as Error).message}), closing the link`,
        );
        socket.destroy();
      }
    };
    socket.on("data", (chunk: Buffer) =>
      receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)),
    );
    if (leftover.length > 0) receive(leftover);
    socket.once("close", () => {
      if (this.links.get(peer) !== socket) return;
      this.links.delete(peer);
      this.handlers.onDown(peer);
    });
  }
}
