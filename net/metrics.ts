// Prometheus metrics at http://host:metricsProvider.httpPort/metrics (ZooKeeper's default 7000),
// through prom-client: the server's counters and gauges, read from the running server on scrape.

import { createServer } from "node:http";
import type { Server } from "node:http";
import { collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { AdminView } from "./admin.ts";

export function startMetrics(port: number, host: string, view: () => AdminView): Server {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "zk_process_" });
  const gauge = (name: string, help: string, read: (v: AdminView) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(view()));
      },
    });
  gauge("zk_znode_count", "znodes in the tree", (v) => v.replica.tree.size);
  gauge("zk_watch_count", "watches registered on this server", (v) => v.replica.watchCount);
  gauge("zk_num_alive_connections", "open client connections", (v) => v.connections.length);
  gauge("zk_outstanding_requests", "client requests not yet answered", (v) =>
    v.connections.reduce((n, c) => n + c.queued, 0),
  );
  gauge("zk_packets_received", "client packets received", (v) => v.stats.packetsReceived);
  gauge("zk_packets_sent", "client packets sent", (v) => v.stats.packetsSent);
  gauge(
    "zk_fsync_count",
    "fsync rounds of the transaction log (one covers many writes)",
    (v) => v.stats.fsyncs,
  );
  gauge("zk_last_zxid", "counter part of the last applied zxid", (v) =>
    Number(v.replica.appliedZxid & 0xffffffffn),
  );
  gauge("zk_epoch", "current epoch", (v) => v.replica.currentEpoch);
  gauge("zk_is_leader", "1 on the leader", (v) => (v.replica.status.role === "leading" ? 1 : 0));
  gauge("zk_avg_latency_ms", "average request latency", (v) =>
    v.stats.latencyCount === 0 ? 0 : v.stats.latencyTotalMs / v.stats.latencyCount,
  );
  gauge(
    "zk_throttled_connections_total",
    "times a client connection stopped being read " +
      "(globalOutstandingLimit, or a client not reading its replies)",
    (v) => v.stats.throttledCount,
  );
  gauge("zk_max_latency_ms", "largest request latency", (v) => v.stats.latencyMaxMs);
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      (error: Error) => res.writeHead(500).end(error.message),
    );
  });
  server.listen(port, host);
  return server;
}
