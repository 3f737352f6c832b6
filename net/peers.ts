// Server-to-server links over TCP for the replication protocol. One connection per pair: the server
// with the higher id dials the lower one (ZooKeeper's rule), opening with a hello frame carrying its
// id; a newer connection from the same peer replaces an older one. A link that breaks, or whose
// send buffer grows past its bound (the peer is not keeping up), is closed and reported down; the
// core treats that as the loss of every message in flight, exactly its model of a link.

import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import type { NodeId, PeerMessage } from "../core/replica/messages.ts";
import type { ServerEntry } from "./config.ts";
import { frame, Framer } from "./framing.ts";
import { decodePeerMessage, encodePeerMessage } from "./peer-codec.ts";

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
const redialMs = 1000;

export class PeerTransport {
  private readonly links = new Map<NodeId, Socket>();
  private server: Server | undefined;
  private stopped = false;

  constructor(private readonly self: ServerEntry, private readonly peers: ServerEntry[], private readonly handlers: PeerHandlers) {}

  start(): void {
    this.server = createServer((socket) => this.accept(socket));
    this.server.on("error", (error) => this.handlers.log(`peer listener: ${error.message}`));
    this.server.listen(this.self.peerPort, this.self.host === "0.0.0.0" ? undefined : this.self.host);
    for (const peer of this.peers) if (peer.id < this.self.id) this.dial(peer);
  }

  send(to: NodeId, message: PeerMessage): void {
    const socket = this.links.get(to);
    if (socket === undefined) return; // no link: lost, as the core expects of a down link
    if (socket.writableLength > peerSendBufferBytesMax) {
      this.handlers.log(`peer ${to}: send buffer over ${peerSendBufferBytesMax} bytes, cutting the link`);
      socket.destroy();
      return;
    }
    socket.write(frame(encodePeerMessage(message)));
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
      const hello = new Uint8Array(8);
      new DataView(hello.buffer).setUint32(0, helloMagic);
      new DataView(hello.buffer).setUint32(4, this.self.id);
      socket.write(frame(hello));
      this.attach(peer.id, socket);
    });
    socket.once("close", () => setTimeout(() => this.dial(peer), redialMs).unref());
    socket.on("error", () => {}); // "close" follows and redials
  }

  /** The dialer's first 12 bytes are its hello frame; whatever follows is replication traffic. */
  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    let received = new Uint8Array(0);
    const onData = (chunk: Buffer) => {
      const joined = new Uint8Array(received.length + chunk.length);
      joined.set(received);
      joined.set(chunk, received.length);
      received = joined;
      if (received.length < 12) return;
      socket.off("data", onData);
      const view = new DataView(received.buffer, received.byteOffset, 12);
      const id = view.getInt32(0) === 8 && view.getUint32(4) === helloMagic ? view.getUint32(8) : -1;
      if (!this.peers.some((p) => p.id === id) || id <= this.self.id) {
        this.handlers.log(`refusing a peer connection that is not a higher-numbered server of this ensemble (id ${id})`);
        return void socket.destroy();
      }
      this.attach(id, socket, received.subarray(12));
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
        for (const payload of framer.push(bytes)) this.handlers.onMessage(peer, decodePeerMessage(payload));
      } catch (error) {
        this.handlers.log(`peer ${peer}: bad frame (${(error as Error).message}), closing the link`);
        socket.destroy();
      }
    };
    socket.on("data", (chunk: Buffer) => receive(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
    if (leftover.length > 0) receive(leftover);
    socket.once("close", () => {
      if (this.links.get(peer) !== socket) return;
      this.links.delete(peer);
      this.handlers.onDown(peer);
    });
  }
}
