/** `deno task start`: serve every model under MODELS_DIR (or MODEL_URL) with Deno.serve. */
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
  const server = Deno.serve({
    port: env.port,
    hostname: env.host,
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}/`),
  }, app.fetch);
  const stop = createShutdown({
    graceMs: env.shutdownGraceMs,
    stopAccepting: () => server.shutdown(),
    endStreams: (err) => models.forEach((m) => m.engine.close(err)),
    exit: Deno.exit,
    log: console.log,
  });
  Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
} catch (err) {
  console.error((err as Error).message);
  Deno.exit(1);
}
