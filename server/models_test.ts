import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { useWasm } from "../shared/testing.ts";
import {
  findModelDirs,
  loadModels,
  loadModelsSkipping,
  modelName,
  withoutLocation,
} from "./models.ts";
import { DEFAULT_LIMITS } from "./limits.ts";
import { defaultConnectionLimits } from "./connections.ts";
import { DENO_SERVE_TEMP, readServeEnv } from "./startup.ts";
import { createApp } from "./app.ts";
import { smallModelDir } from "./testing.ts";

Deno.test("findModelDirs() lists folders holding a model.json, by name", async () => {
  const dir = await smallModelDir();
  const parent = join(dir, "..");
  const found = await findModelDirs(parent);
  assert.equal(found.get(modelName(dir)), dir);
  assert.equal((await findModelDirs("/nonexistent/rotor")).size, 0);
});

Deno.test("loadModels() loads a model over HTTP, as MODEL_URL does", async () => {
  await useWasm();
  const dir = await smallModelDir();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const file = new URL(req.url).pathname.replace(/^\/models\/tiny\//, "");
    try {
      return new Response(await readFile(join(dir, file)));
    } catch {
      return new Response("missing", { status: 404 });
    }
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/models/tiny/`;
    assert.equal(modelName(url), "tiny");
    const models = await loadModels(new Map([["tiny", url]]), { maxActive: 1, maxQueue: 0 });
    const m = models.get("tiny")!;
    assert.equal(m.card.vocab_size, 32);
    assert.equal(m.card.parameters, m.card.size_bytes / 4);
  } finally {
    await server.shutdown();
  }
});

Deno.test("readServeEnv() applies defaults and refuses a bad PORT, SCORE_WORKERS, SCORE_WORKER_THREADS or WASM_THREADS", () => {
  assert.deepEqual(readServeEnv({}), {
    modelsDir: "models",
    modelUrl: undefined,
    defaultModel: undefined,
    port: 8000,
    host: "127.0.0.1",
    maxActive: 32,
    maxQueue: 64,
    scoreWorkers: 2,
    scoreWorkerThreads: 1,
    wasmThreads: 1,
    strictModels: false,
    limits: DEFAULT_LIMITS,
    connections: defaultConnectionLimits(),
    browser: { allowedHosts: ["localhost", "127.0.0.1", "::1"], corsOrigins: [] },
    shutdownGraceMs: 10_000,
    tempDir: DENO_SERVE_TEMP,
  });
  // Two backend threads already use both cores: no score workers unless asked.
  assert.equal(readServeEnv({ WASM_THREADS: "2" }).scoreWorkers, 0);
  assert.equal(readServeEnv({ WASM_THREADS: "2", SCORE_WORKERS: "1" }).scoreWorkers, 1);
  for (const bad of ["0", "65", "two"]) {
    assert.throws(() => readServeEnv({ WASM_THREADS: bad }), /WASM_THREADS must/);
  }
  assert.throws(
    () => readServeEnv({ PORT: "eighty" }),
    /PORT must be a non-negative integer, got "eighty"/,
  );
  assert.equal(readServeEnv({ SCORE_WORKERS: "0" }).scoreWorkers, 0);
  assert.throws(() => readServeEnv({ SCORE_WORKERS: "3" }), /SCORE_WORKERS must be 0, 1 or 2/);
  assert.throws(() => readServeEnv({ SCORE_WORKERS: "-1" }), /non-negative integer/);
  assert.throws(() => readServeEnv({ SCORE_THREADS: "2" }), /replaced by SCORE_WORKERS/);
  for (const bad of ["0", "3"]) {
    assert.throws(
      () => readServeEnv({ SCORE_WORKER_THREADS: bad }),
      /SCORE_WORKER_THREADS must be 1 or 2/,
    );
  }
  assert.equal(readServeEnv({ SCORE_WORKER_THREADS: "2" }).scoreWorkerThreads, 2);
});

Deno.test("a bad model folder is skipped with one line naming it, and the others are served", async () => {
  await useWasm();
  const parent = await Deno.makeTempDir({ prefix: "rotor-models-" });
  const good = join(parent, "good"), bad = join(parent, "bad");
  for (const d of [good, bad]) {
    await Deno.mkdir(d);
    for (const f of ["model.json", "vocab.txt", "weights.bin"]) {
      await Deno.copyFile(join(await smallModelDir(), f), join(d, f));
    }
  }
  await Deno.writeFile(join(bad, "weights.bin"), new Uint8Array(10));
  const lines: string[] = [];
  const dirs = await findModelDirs(parent);
  const { models, failures } = await loadModelsSkipping(
    dirs,
    { maxActive: 1, maxQueue: 0 },
    (l) => lines.push(l),
  );
  assert.deepEqual([...models.keys()], ["good"]);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.name, "bad");
  assert.match(failures[0]!.error, /^bad\/model\.json: weights\.bin: 10 bytes, model\.json says/);
  // The log has the full path; what clients see names the folder only.
  assert.ok(!failures[0]!.error.includes(parent), failures[0]!.error);
  assert.deepEqual(lines, [
    `model bad skipped: ${join(parent, "bad")}/model.json: weights.bin: ` +
    failures[0]!.error.slice("bad/model.json: weights.bin: ".length),
  ]);
  await assert.rejects(loadModels(dirs, { maxActive: 1, maxQueue: 0 }), /^Error: Model "bad": /);
  // /health and /v1/models list it.
  const app = createApp({ models, failedModels: failures });
  const health = await (await app.request("/health")).json();
  assert.deepEqual(health.failed_models, failures);
  assert.deepEqual((await (await app.request("/v1/models")).json()).failed, failures);
  assert.equal(readServeEnv({ STRICT_MODELS: "1" }).strictModels, true);
  assert.throws(() => readServeEnv({ STRICT_MODELS: "2" }), /STRICT_MODELS must be 0 or 1, got 2/);
  await Deno.remove(parent, { recursive: true });
});

Deno.test("withoutLocation() names the model folder and shortens other absolute paths", () => {
  assert.equal(
    withoutLocation(
      `/srv/models/bad/model.json: Cannot read "/srv/models/bad/vocab.txt": ENOENT, ` +
        `open '/srv/other/elsewhere/vocab.txt'`,
      "/srv/models/bad/",
      "bad",
    ),
    `bad/model.json: Cannot read "bad/vocab.txt": ENOENT, open '…/elsewhere/vocab.txt'`,
  );
  assert.equal(
    withoutLocation(
      "http://10.0.0.2:9000/m/x/model.json: HTTP 404",
      "http://10.0.0.2:9000/m/x",
      "x",
    ),
    "x/model.json: HTTP 404",
  );
});
