/** `deno task start`: serve every model under MODELS_DIR (or MODEL_URL) with Deno.serve. */
import { POISONED_EXIT, POISONED_GRACE_MS, prepare, readServeEnv } from "./startup.ts";

const env = readServeEnv(Deno.env.toObject());
try {
  const { app, health } = await prepare(env);
  health.onPoisoned(() => setTimeout(() => Deno.exit(POISONED_EXIT), POISONED_GRACE_MS));
  Deno.serve({
    port: env.port,
    hostname: env.host,
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}/`),
  }, app.fetch);
} catch (err) {
  console.error((err as Error).message);
  Deno.exit(1);
}
