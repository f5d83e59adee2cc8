/** Helpers for the server's tests (imported only from *_test.ts). */
import { loadModel } from "../shared/model_format.ts";
import { saveSmallModel, useWasm } from "../shared/testing.ts";
import { type AppOptions, createApp } from "./app.ts";
import type { EngineOptions } from "./engine.ts";
import { type ServedModel, serveModel } from "./models.ts";

let dir: Promise<string> | undefined;

/** The folder of a tiny saved uGRU (32 words, H = 8), made once per test process. */
export function smallModelDir(): Promise<string> {
  dir ??= useWasm().then(() => saveSmallModel({}, 7));
  return dir;
}

/** A served tiny model with its own engine. */
export async function smallServedModel(
  engine: EngineOptions = { maxActive: 8, maxQueue: 8 },
  name = "tiny",
): Promise<ServedModel> {
  await useWasm();
  return serveModel(name, await loadModel(await smallModelDir()), engine);
}

export async function smallApp(
  engine?: EngineOptions,
  options: Partial<AppOptions> = {},
) {
  const model = await smallServedModel(engine);
  const app = createApp({ models: new Map([[model.name, model]]), ...options });
  return { app, model };
}

export function post(path: string, body: unknown): Request {
  return new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Split an SSE body into frames (without the blank line). */
export function frames(text: string): string[] {
  return text.split("\n\n").filter((f) => f.length > 0);
}

/** A server started as a subprocess by spawnServer(). */
export interface SpawnedServer {
  child: Deno.ChildProcess;
  url: string;
  /** Everything it wrote to stderr, once it has exited. */
  stderr: Promise<string>;
}

/**
 * Start a server subprocess and wait for its "listening on" line; its stdout is read to the end
 * after that so the pipe never fills. Fails the test, with its output, when it exits first.
 */
export async function spawnServer(
  cmd: string[],
  env: Record<string, string>,
): Promise<SpawnedServer> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env: { PORT: "0", HOST: "127.0.0.1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "", url: string | undefined;
  while (!url) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      throw new Error(`The server did not start:\n${log}\n${await stderr}`);
    }
    log += value;
    url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
  }
  void (async () => {
    while (!(await lines.read()).done);
  })();
  return { child, url, stderr };
}

/** Kill a spawned server if it still runs, and wait for it. */
export async function killServer(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await child.status;
}
