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
