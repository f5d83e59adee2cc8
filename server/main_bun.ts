/** `bun server/main_bun.ts`: the same server on Bun. */
import {
  POISONED_EXIT,
  POISONED_GRACE_MS,
  prepare,
  readServeEnv,
  serveEnvFrom,
} from "./startup.ts";
import { createShutdown } from "./shutdown.ts";

declare const Bun: {
  serve(o: {
    port: number;
    hostname: string;
    idleTimeout: number;
    fetch: (req: Request) => Response | Promise<Response>;
  }): { port: number; hostname: string; stop(closeActive?: boolean): Promise<void> };
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
  const m = process.memoryUsage();
  const heap = m.heapUsed + m.external;
  if (heap > heapAtGc + GC_STEP_BYTES) {
    Bun.gc(false);
    heapAtGc = heap;
  } else if (heap < heapAtGc) heapAtGc = heap;
}, 2000).unref();

const env = readServeEnv(serveEnvFrom((name) => process.env[name]));
try {
  const { app, health, models } = await prepare(env);
  health.onPoisoned(() => setTimeout(() => process.exit(POISONED_EXIT), POISONED_GRACE_MS));
  // idleTimeout (seconds, at most 255) would otherwise cut long quiet streams at 10 s.
  const server = Bun.serve({
    port: env.port,
    hostname: env.host,
    idleTimeout: 255,
    fetch: app.fetch,
  });
  console.log(`listening on http://${server.hostname}:${server.port}/`);
  const stop = createShutdown({
    graceMs: env.shutdownGraceMs,
    stopAccepting: () => server.stop(false),
    endStreams: (err) => models.forEach((m) => m.engine.close(err)),
    exit: (code) => process.exit(code),
    log: console.log,
  });
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
