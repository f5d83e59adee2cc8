/**
 * Yielding to the event loop between pieces of work. setImmediate is the cheapest turn, which
 * matters when a decoder step takes under a millisecond; but on Deno it runs before network I/O
 * is polled, so a loop that only ever yields that way starves the HTTP server: a /health
 * request waited for the whole of a long prompt. At least every POLL_MS one timer turn lets
 * I/O in, costing at most a millisecond per POLL_MS of work.
 */
export const POLL_MS = 20;

let lastPoll = performance.now();

export function yieldTask(): Promise<void> {
  const now = performance.now();
  if (now - lastPoll < POLL_MS) return new Promise((r) => setImmediate(r));
  lastPoll = now;
  return new Promise((r) => setTimeout(r, 0));
}
