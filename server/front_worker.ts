/**
 * The connection front's own thread (front_thread.ts starts it): it relays every client's
 * bytes, so on the server's thread those relays would wait behind each block of a long
 * computation (a text's score, an echo's logprobs) several times per request; here they do not,
 * and a /health request waits for one turn of the server's thread, as without a front.
 */
import process from "node:process";
import type { Front, FrontOptions } from "./connections.ts";

/** What the server's thread sends. */
export type FrontCommand =
  | { type: "start"; options: FrontOptions }
  | { type: "open"; id: number }
  | { type: "close" };

/** What this thread answers. */
export type FrontReply =
  | { type: "listening"; port: number; hostname: string }
  | { type: "error"; message: string }
  | { type: "open"; id: number; n: number }
  | { type: "closed" }
  | { type: "memory"; heapUsed: number; external: number };

/** How often the front reports its heap to the server's thread (for /metrics). */
export const FRONT_MEMORY_EVERY_MS = 5000;

const self = globalThis as unknown as {
  postMessage(m: FrontReply): void;
  onmessage: ((e: MessageEvent<FrontCommand>) => void) | null;
};
let front: Front | undefined;
let reporting: ReturnType<typeof setInterval> | undefined;

async function serve(options: FrontOptions): Promise<Front> {
  // Deno's front, or Bun's (node:net): each runtime's listener fails in its own way.
  if (typeof Deno !== "undefined") return (await import("./front_deno.ts")).serveFrontDeno(options);
  return (await import("./front_node.ts")).serveFrontNode(options);
}

function reportMemory() {
  try {
    const m = process.memoryUsage();
    self.postMessage({ type: "memory", heapUsed: m.heapUsed, external: m.external });
  } catch {
    // Bun reads /proc here, which fails when no file descriptor is left: skipped this once.
  }
}

self.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "start") {
    try {
      front = await serve(m.options);
      self.postMessage({ type: "listening", port: front.port, hostname: front.hostname });
      reportMemory();
      reporting = setInterval(reportMemory, FRONT_MEMORY_EVERY_MS);
    } catch (err) {
      self.postMessage({ type: "error", message: (err as Error).message });
    }
  } else if (m.type === "open") {
    self.postMessage({ type: "open", id: m.id, n: front?.table.open() ?? 0 });
  } else if (m.type === "close") {
    // Bun's close waits for every client connection, idle ones too: not awaited.
    void front?.close();
    clearInterval(reporting);
    self.postMessage({ type: "closed" });
  }
};
