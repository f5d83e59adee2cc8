/**
 * What `deno task start` and `bun server/main_bun.ts` both do, given their runtime's HTTP
 * server, exit and signals: load the models, answer HTTP on a private socket behind the
 * connection front (connections.ts), drain on SIGTERM/SIGINT, exit 70 when poisoned.
 */
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
import { labels } from "./metrics.ts";

export interface Runtime {
  env(name: string): string | undefined;
  /** Answer HTTP on the unix socket `path`; `stop` resolves once the open requests finished. */
  serve(
    path: string,
    fetch: (req: Request) => Response | Promise<Response>,
  ): { stop(): Promise<void> };
  onSignal(signal: "SIGTERM" | "SIGINT", f: () => void): void;
  exit(code: number): void;
}

export async function runServer(rt: Runtime): Promise<void> {
  const env = readServeEnv(serveEnvFrom(rt.env));
  try {
    const { app, health, models, metrics } = await prepare(env);
    health.onPoisoned(() => setTimeout(() => rt.exit(POISONED_EXIT), POISONED_GRACE_MS));
    const backendPath = privateSocketPath(env.tempDir);
    const server = rt.serve(backendPath, app.fetch);
    const front = await startFrontThread({
      port: env.port,
      host: env.host,
      backendPath,
      limits: env.connections,
    }, (m) => {
      metrics.threadMemory.set(labels({ kind: "front_js_heap" }), m.heapUsed);
      metrics.threadMemory.set(labels({ kind: "front_external" }), m.external);
    });
    const stop = createShutdown({
      graceMs: env.shutdownGraceMs,
      // The front stops accepting; connections already relayed finish through the server.
      stopAccepting: async () => {
        await front.close();
        await server.stop();
        await relaysDone(front.open);
      },
      endStreams: (err) => models.forEach((m) => m.engine.close(err)),
      exit: rt.exit,
      log: console.log,
    });
    rt.onSignal("SIGTERM", () => stop("SIGTERM"));
    rt.onSignal("SIGINT", () => stop("SIGINT"));
    // Only now: a supervisor that signals as soon as it reads this line finds the handlers set.
    console.log(`listening on http://${front.hostname}:${front.port}/`);
  } catch (err) {
    console.error((err as Error).message);
    rt.exit(1);
  }
}
