/** `bun server/main_bun.ts`: the same server on Bun. */
import { POISONED_EXIT, POISONED_GRACE_MS, prepare, readServeEnv } from "./startup.ts";

declare const Bun: {
  serve(o: {
    port: number;
    hostname: string;
    idleTimeout: number;
    fetch: (req: Request) => Response | Promise<Response>;
  }): { port: number; hostname: string };
};

const env = readServeEnv(process.env);
try {
  const { app, health } = await prepare(env);
  health.onPoisoned(() => setTimeout(() => process.exit(POISONED_EXIT), POISONED_GRACE_MS));
  // idleTimeout (seconds, at most 255) would otherwise cut long quiet streams at 10 s.
  const server = Bun.serve({
    port: env.port,
    hostname: env.host,
    idleTimeout: 255,
    fetch: app.fetch,
  });
  console.log(`listening on http://${server.hostname}:${server.port}/`);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
