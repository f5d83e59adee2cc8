/** `bun server/main_bun.ts`: the same server on Bun. */
import { privateSocketPath, relaysDone } from "./connections.ts";
import { startFrontThread } from "./front_thread.ts";
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

const env = readServeEnv(serveEnvFrom((name) => process.env[name]));
try {
  const { app, health, models } = await prepare(env);
  health.onPoisoned(() => setTimeout(() => process.exit(POISONED_EXIT), POISONED_GRACE_MS));
  // Bun.serve answers HTTP on a private socket; clients connect through the front, which holds
  // the connection budget and the idle timeout (connections.ts). Its own idleTimeout (seconds,
  // at most 255) would otherwise cut long quiet answers at 10 s.
  const backendPath = privateSocketPath(env.tempDir);
  const server = Bun.serve({ unix: backendPath, idleTimeout: 255, fetch: app.fetch });
  const front = await startFrontThread({
    port: env.port,
    host: env.host,
    backendPath,
    limits: env.connections,
  });
  const stop = createShutdown({
    graceMs: env.shutdownGraceMs,
    // The front stops accepting; requests already relayed finish through the server.
    stopAccepting: async () => {
      await front.close();
      await server.stop(false);
      await relaysDone(front.open);
    },
    endStreams: (err) => models.forEach((m) => m.engine.close(err)),
    exit: (code) => process.exit(code),
    log: console.log,
  });
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  // Only now: a supervisor that signals as soon as it reads this line finds the handlers set.
  console.log(`listening on http://${front.hostname}:${front.port}/`);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
