/**
 * Yielding to the event loop between pieces of work. setImmediate is the cheapest turn, which
 * matters when a decoder step takes under a millisecond; but on Deno it runs before network I/O
 * is polled, so a loop that only ever yields that way starves the HTTP server: a /health
 * request waited for the whole of a long prompt. At least every POLL_MS one timer turn lets
 * I/O in, costing at most a millisecond per POLL_MS of work.
 *
 * While a long computation runs on this thread in blocks (a prompt's echo logprobs, a text's
 * score), every yield is a timer turn. Deno's runtime polls sockets only when its event loop
 * has nothing ready, or every few dozen wake-ups: a decoder yielding by setImmediate keeps it
 * ready, so between two socket polls several of the other computation's blocks ran, and
 * /health waited about half a second behind a 4,096-token echo. Timer turns let it idle
 * between blocks; the decoder's steps then cost a millisecond more each, only meanwhile.
 */
import { immediate } from "../shared/immediate.ts";

export const POLL_MS = 20;

let inFlight = 0;

/**
 * Mark one user of this thread (a request being handled, app.ts; the generation loop while it
 * runs, engine.ts) until the returned function is called.
 */
export function sharing(): () => void {
  inFlight++;
  let done = false;
  return () => {
    if (!done) inFlight--;
    done = true;
  };
}

/**
 * Work a computation in blocks (an echo, a text's score on this thread) does between two turns.
 * A request that arrives meanwhile waits for several turns (its bytes, its handler, its answer),
 * so while anything else uses the thread, turns are short: 5 ms turns took /health's p99 beside
 * streams, echoes and scoring from ~120 ms to ~85 ms on Deno. Alone, a computation yields every
 * POLL_MS as before: on Deno a timer turn costs ~2 ms, and yielding every 5 ms made a
 * 4,096-token echo 1.6 times as slow.
 */
export const SHARED_SLICE_MS = 5;

export function sliceMs(): number {
  return inFlight > 1 ? SHARED_SLICE_MS : POLL_MS;
}

export function usersNow(): number {
  return inFlight;
}

let lastPoll = performance.now();
let blockWork = 0;

/** The turn the next yield takes: a timer turn lets the sockets be polled. */
export function nextTurn(now = performance.now()): "immediate" | "timer" {
  return blockWork === 0 && now - lastPoll < POLL_MS ? "immediate" : "timer";
}

export function yieldTask(): Promise<void> {
  const now = performance.now();
  if (nextTurn(now) === "immediate") return new Promise((r) => immediate(r));
  lastPoll = now;
  return new Promise((r) => setTimeout(r, 0));
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Run `work`, a computation in blocks on this thread that yields between them. One such
 * computation runs at a time, the others wait their turn: interleaved, each would hold its
 * block's tensors at once, and the wasm heap (which never shrinks) would grow to the sum.
 * A request whose `signal` aborted while it waited (its client left) gives up its turn.
 */
export function inBlocks<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const run = queue.then(async () => {
    signal?.throwIfAborted();
    blockWork++;
    try {
      return await work();
    } finally {
      blockWork--;
    }
  });
  queue = run.catch(() => {});
  return run;
}
