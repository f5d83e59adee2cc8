/** `deno task start`: serve every model under MODELS_DIR (or MODEL_URL) with Deno.serve. */
import { runServer } from "./run_server.ts";

await runServer({
  env: (name) => Deno.env.get(name),
  serve: (path, fetch) => {
    const server = Deno.serve({ path, onListen: () => {} }, fetch);
    return { stop: () => server.shutdown() };
  },
  onSignal: (signal, f) => Deno.addSignalListener(signal, f),
  exit: (code) => Deno.exit(code),
});
