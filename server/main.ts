/** `deno task start`: serve every model under MODELS_DIR (or MODEL_URL) with Deno.serve. */
import { privateSocketPath } from "./connections.ts";
import { serveFrontDeno } from "./front_deno.ts";
import { POISONED_EXIT, POISONED_GRACE_MS, prepare, readServeEnv } from "./startup.ts";

const env = readServeEnv(Deno.env.toObject());
try {
  const { app, health } = await prepare(env);
  health.onPoisoned(() => setTimeout(() => Deno.exit(POISONED_EXIT), POISONED_GRACE_MS));
  // Deno.serve answers HTTP on a private socket; clients connect through the front, which
  // holds the connection budget (connections.ts).
  const backendPath = privateSocketPath();
  Deno.serve({ path: backendPath, onListen: () => {} }, app.fetch);
  const front = await serveFrontDeno({
    port: env.port,
    host: env.host,
    backendPath,
    limits: env.connections,
  });
  console.log(`listening on http://${front.hostname}:${front.port}/`);
} catch (err) {
  console.error((err as Error).message);
  Deno.exit(1);
}
