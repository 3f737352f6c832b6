// Garbage collection in this server's members during a measured window, read from the Prometheus
// metrics each member serves (prom-client's nodejs_gc_duration_seconds, by kind of collection).
// ZooKeeper's JVM exports nothing alike without its Prometheus provider, which Debian's package
// leaves out, so its runs show none.

export interface GcFigures {
  scavenges: number;
  scavengeMs: number;
  markCompacts: number;
  markCompactMs: number;
  /** Steps of incremental marking, between the mark-compacts' own pauses. */
  incrementalMs: number;
}

const histogram = "zk_process_nodejs_gc_duration_seconds";
const scrapeTimeoutMs = 2_000;

function sample(text: string, suffix: "count" | "sum", kind: string): number {
  const line = new RegExp(`^${histogram}_${suffix}\\{kind="${kind}"\\} (\\S+)$`, "m").exec(text);
  return line === null ? 0 : Number(line[1]);
}

/** The collections counted so far in a member's metrics text. */
export function parseGc(text: string): GcFigures {
  return {
    scavenges: sample(text, "count", "minor"),
    scavengeMs: sample(text, "sum", "minor") * 1000,
    markCompacts: sample(text, "count", "major"),
    markCompactMs: sample(text, "sum", "major") * 1000,
    incrementalMs: sample(text, "sum", "incremental") * 1000,
  };
}

/** A member's collections so far; undefined when its metrics cannot be read. */
export async function scrapeGc(port: number): Promise<GcFigures | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(scrapeTimeoutMs),
    });
    return response.ok ? parseGc(await response.text()) : undefined;
  } catch {
    return undefined;
  }
}

export function gcBetween(before: GcFigures, after: GcFigures): GcFigures {
  return {
    scavenges: after.scavenges - before.scavenges,
    scavengeMs: after.scavengeMs - before.scavengeMs,
    markCompacts: after.markCompacts - before.markCompacts,
    markCompactMs: after.markCompactMs - before.markCompactMs,
    incrementalMs: after.incrementalMs - before.incrementalMs,
  };
}

/** Every member's collections between two scrapes; undefined where either failed. */
export function gcWindow(
  before: (GcFigures | undefined)[],
  after: (GcFigures | undefined)[],
): (GcFigures | undefined)[] {
  return before.map((b, i) => {
    const a = after[i];
    return b === undefined || a === undefined ? undefined : gcBetween(b, a);
  });
}

/** "41 ms, 1 MC": a member's pauses in the window (all kinds) and its mark-compacts. */
export function gcSummary(g: GcFigures | undefined): string {
  if (g === undefined) return "-";
  const pauseMs = g.scavengeMs + g.markCompactMs + g.incrementalMs;
  return `${Math.round(pauseMs)} ms, ${g.markCompacts} MC`;
}
