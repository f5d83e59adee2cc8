/** `deno task start`: serve every model under MODELS_DIR (or MODEL_URL) with Deno.serve. */
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

const env = readServeEnv(serveEnvFrom((name) => Deno.env.get(name)));
try {
  const { app, health, models } = await prepare(env);
  health.onPoisoned(() => setTimeout(() => Deno.exit(POISONED_EXIT), POISONED_GRACE_MS));
  // Deno.serve answers HTTP on a private socket; clients connect through the front, which
  // holds the connection budget (connections.ts).
  const backendPath = privateSocketPath(env.tempDir);
  const server = Deno.serve({ path: backendPath, onListen: () => {} }, app.fetch);
  const front = await startFrontThread({
    port: env.port,
    host: env.host,
    backendPath,
    limits: env.connections,
  });
  const stop = createShutdown({
    graceMs: env.shutdownGraceMs,
    // The front stops accepting; connections already relayed finish through the server.
    stopAccepting: async () => {
      await front.close();
      await server.shutdown();
      await relaysDone(front.open);
    },
    endStreams: (err) => models.forEach((m) => m.engine.close(err)),
    exit: Deno.exit,
    log: console.log,
  });
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  // Only now: a supervisor that signals as soon as it reads this line finds the handlers set.
  console.log(`listening on http://${front.hostname}:${front.port}/`);
} catch (err) {
  console.error((err as Error).message);
  Deno.exit(1);
}
