/**
 * A full collection of the connection front's heap once a burst of connections has gone by.
 *
 * The front's isolate allocates per connection and holds little between bursts, but V8 grows a
 * young generation that keeps surviving scavenges (hundreds of slow clients alive at once) up to
 * its maximum and keeps it, and the relays' read buffers wait for a major collection that a
 * small old generation rarely triggers: 16 rounds of 500 timed-out clients left the front's
 * heap at ~60 MB committed for ~15 MB used. A last-resort collection shrinks both, and on the
 * front's own thread it stalls only the relaying of bytes, for ~10–15 ms per burst. It needs
 * V8's `--expose-gc` (startup.ts passes it to Deno); without it nothing happens.
 */
import type { ConnectionTable } from "./connections.ts";

/** Connections accepted since the last collection before the next may run. */
export const GC_AFTER_ACCEPTED = 500;
/** The burst is over when fewer than this many connections are open. */
export const GC_BELOW_OPEN = 64;

type Collect = (options?: Record<string, string>) => void;

/** V8's `gc` where the runtime exposes it. */
export function exposedGc(): Collect | undefined {
  const g = (globalThis as { gc?: unknown }).gc;
  return typeof g === "function" ? g as Collect : undefined;
}

/** Called at each sweep: collects when a burst has passed; true when it did. */
export function collectAfterBursts(
  table: Pick<ConnectionTable, "open" | "stats">,
  collect: Collect | undefined = exposedGc(),
): () => boolean {
  let acceptedAtLast = 0;
  return () => {
    if (!collect) return false;
    if (table.stats.accepted - acceptedAtLast < GC_AFTER_ACCEPTED) return false;
    if (table.open() >= GC_BELOW_OPEN) return false;
    acceptedAtLast = table.stats.accepted;
    // "last-resort" also shrinks the young generation and gives its pages back.
    collect({ type: "major", execution: "sync", flavor: "last-resort" });
    return true;
  };
}
