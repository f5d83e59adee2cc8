/** `bun server/main_bun.ts`: the same server on Bun. */
import process from "node:process";
import { runServer } from "./run_server.ts";

declare const Bun: {
  serve(o: {
    unix: string;
    idleTimeout: number;
    fetch: (req: Request) => Response | Promise<Response>;
  }): { stop(closeActive?: boolean): Promise<void> };
  gc(force: boolean): void;
};

/**
 * JavaScriptCore collects lazily: the garbage of a heavy request (a 1 MB text's tokens) stayed in
 * RSS until enough was allocated again, tens of MB at a time. Every few seconds, when the heap
 * grew by GC_STEP_BYTES since the last look, ask for a collection (not forced: it runs when JSC
 * is ready, without stopping the requests in flight).
 */
const GC_STEP_BYTES = 32e6;
let heapAtGc = 0;
setInterval(() => {
  // memoryUsage reads /proc, which fails when no file descriptor is left: that must cost one
  // look, never the process.
  let m: NodeJS.MemoryUsage;
  try {
    m = process.memoryUsage();
  } catch {
    return;
  }
  const heap = m.heapUsed + m.external;
  if (heap > heapAtGc + GC_STEP_BYTES) {
    Bun.gc(false);
    heapAtGc = heap;
  } else if (heap < heapAtGc) heapAtGc = heap;
}, 2000).unref();

await runServer({
  env: (name) => process.env[name],
  // Bun.serve's own idleTimeout (seconds, at most 255) would otherwise cut long quiet answers at
  // 10 s: the front holds the idle timeout.
  serve: (unix, fetch) => {
    const server = Bun.serve({ unix, idleTimeout: 255, fetch });
    return { stop: () => server.stop(false) };
  },
  onSignal: (signal, f) => process.on(signal, f),
  exit: (code) => process.exit(code),
});
