/**
 * What both entry points do before serving: read the environment, pick the backend, load
 * every model, and say so. No model installed is an error that says how to get one.
 */
import { describeBackend, initBackend, wasmThreadsFromEnv } from "../shared/backend.ts";
import { createApp } from "./app.ts";
import { CONNECTION_ENV, type ConnectionLimits, readConnectionEnv } from "./connections.ts";
import { createHealth } from "./health.ts";
import { createMetrics } from "./metrics.ts";
import { type BrowserPolicy, readBrowserEnv } from "./origin.ts";
import { LIMIT_ENV, type Limits, readLimitsEnv } from "./limits.ts";
import { findModelDirs, loadModelsSkipping, modelName } from "./models.ts";
import { createScoreHelper } from "./score_helper.ts";

export interface ServeEnv {
  modelsDir: string;
  modelUrl?: string;
  defaultModel?: string;
  port: number;
  host: string;
  maxActive: number;
  maxQueue: number;
  /**
   * Workers that score long texts (SCORE_WORKERS, 0–2): 2 (the default) split a text's columns
   * and leave the main thread free; 1 scores beside the main thread (see scoreWorkerThreads);
   * 0 scores on the main thread. The default is 0 when WASM_THREADS > 1: both cores are busy.
   */
  scoreWorkers: number;
  /**
   * Wasm threads of each score worker (SCORE_WORKER_THREADS, default 1). With one worker: 1
   * splits a text's columns between it and the main thread; 2 (Deno only) lets it score whole
   * texts on its own two-thread pool.
   */
  scoreWorkerThreads: number;
  /**
   * Threads of the wasm backend's matrix products (WASM_THREADS, default 1; 2 needs Deno).
   * Measured with bench:serve's untrained 256-unit uGRU (2026-11-26, fused cell steps, one run
   * after the other), 1 → 2 threads: single stream 1,376 → 809 tokens/s, 32 streams 3,304 →
   * 3,529, first token 665 → 771 ms: the pool thread helps the large batched product, but it
   * spins between the many small ops (62–69 % of a core while one stream generates) and the
   * bench's client needs the other core; with curl as the client single-stream loses 7–15 %,
   * in-process nothing. Two threads also cost ~17 MB of RSS.
   */
  wasmThreads: number;
  /** Exit at start-up when any model folder cannot be loaded (STRICT_MODELS=1); by default a
   * bad folder is skipped and listed by /health and /v1/models. */
  strictModels: boolean;
  /** What one request may ask (MAX_PROMPT_TOKENS, MAX_SCORE_TOKENS, …; see limits.ts). */
  limits: Limits;
  /** How many connections, and how long each may idle (MAX_CONNECTIONS, …; connections.ts). */
  connections: ConnectionLimits;
  /** Which Host headers and origins are served (ALLOWED_HOSTS, CORS_ORIGINS; origin.ts). */
  browser: BrowserPolicy;
  /** Milliseconds open requests get to finish after SIGTERM or SIGINT (SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** Where the private socket behind the connection front is made (TMPDIR, else /tmp). */
  tempDir: string;
}

/**
 * Every environment variable the server reads: the entry points read these names and no
 * others, so `deno task start` can allow exactly them (--allow-env), and the README lists them.
 */
export const SERVE_ENV_VARS: readonly string[] = [
  "MODELS_DIR",
  "MODEL_URL",
  "DEFAULT_MODEL",
  "PORT",
  "HOST",
  "MAX_ACTIVE_STREAMS",
  "MAX_QUEUED_STREAMS",
  "SCORE_WORKERS",
  "SCORE_WORKER_THREADS",
  "SCORE_THREADS",
  "WASM_THREADS",
  "STRICT_MODELS",
  "SHUTDOWN_GRACE_MS",
  "ALLOWED_HOSTS",
  "CORS_ORIGINS",
  "TMPDIR",
  ...Object.values(LIMIT_ENV),
  ...Object.values(CONNECTION_ENV),
];

/** The variables of SERVE_ENV_VARS that `get` (an environment) sets. */
export function serveEnvFrom(get: (name: string) => string | undefined) {
  return Object.fromEntries(SERVE_ENV_VARS.map((n) => [n, get(n)]));
}

function intEnv(env: Record<string, string | undefined>, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`Environment variable ${name} must be a non-negative integer, got "${raw}"`);
  }
  return n;
}

function oneOrTwo(env: Record<string, string | undefined>, name: string, dflt: 1 | 2): number {
  const n = intEnv(env, name, dflt);
  if (n < 1 || n > 2) throw new Error(`${name} must be 1 or 2, got ${n}`);
  return n;
}

function oneOrZero(env: Record<string, string | undefined>, name: string): boolean {
  const n = intEnv(env, name, 0);
  if (n > 1) throw new Error(`${name} must be 0 or 1, got ${n}`);
  return n === 1;
}

export function readServeEnv(env: Record<string, string | undefined>): ServeEnv {
  const wasmThreads = wasmThreadsFromEnv(1, env);
  if (env.SCORE_THREADS !== undefined) {
    throw new Error(
      "SCORE_THREADS was replaced by SCORE_WORKERS: 0 scores on the main thread, 1 beside it, " +
        "2 (the default) on two workers",
    );
  }
  const scoreWorkers = intEnv(env, "SCORE_WORKERS", wasmThreads > 1 ? 0 : 2);
  if (scoreWorkers > 2) throw new Error(`SCORE_WORKERS must be 0, 1 or 2, got ${scoreWorkers}`);
  const scoreWorkerThreads = oneOrTwo(env, "SCORE_WORKER_THREADS", 1);
  const host = env.HOST || "127.0.0.1";
  return {
    modelsDir: env.MODELS_DIR || "models",
    modelUrl: env.MODEL_URL || undefined,
    defaultModel: env.DEFAULT_MODEL || undefined,
    port: intEnv(env, "PORT", 8000),
    host,
    maxActive: intEnv(env, "MAX_ACTIVE_STREAMS", 32),
    maxQueue: intEnv(env, "MAX_QUEUED_STREAMS", 64),
    scoreWorkers,
    scoreWorkerThreads,
    wasmThreads,
    strictModels: oneOrZero(env, "STRICT_MODELS"),
    limits: readLimitsEnv(env),
    connections: readConnectionEnv(env),
    browser: readBrowserEnv(env, host),
    shutdownGraceMs: intEnv(env, "SHUTDOWN_GRACE_MS", 10_000),
    tempDir: env.TMPDIR || DENO_SERVE_TEMP,
  };
}

/**
 * Folders the Deno server may read: the shipped models and its own code (server/ and shared/,
 * for the workers it starts; node_modules/ for the wasm binaries, and the folder it links to
 * when it is a link to a shared install, since Deno checks the path a link resolves to). A
 * MODELS_DIR elsewhere needs its own --allow-read: start-up fails naming the folder.
 */
export const DENO_SERVE_READ = ["models", "server", "shared", "node_modules", "web/dist"];

/**
 * The temporary folder the Deno server may write: the private socket behind its connection
 * front is made in a new folder there (connections.ts). A TMPDIR elsewhere needs its own
 * --allow-read and --allow-write.
 */
export const DENO_SERVE_TEMP = "/tmp";

/**
 * The permissions the Deno server runs with, reading `read`: the network, the variables of
 * SERVE_ENV_VARS, reading those folders and the open-file limit (the connection cap is sized
 * from it), reading and writing the temporary folder (the private socket), and nothing else
 * (no subprocesses, FFI or system information beyond the core count and a thread's own priority).
 */
export function denoServePermissions(read: readonly string[] = DENO_SERVE_READ): string[] {
  return [
    "--allow-net",
    `--allow-env=${SERVE_ENV_VARS.join(",")}`,
    `--allow-read=${[...read, DENO_SERVE_TEMP, "/proc/self/limits"].join(",")}`,
    `--allow-write=${DENO_SERVE_TEMP}`,
    // The threaded wasm build (WASM_THREADS > 1) sizes its pool from the number of cores;
    // helper threads lower their own priority (thread_priority.ts).
    "--allow-sys=cpus,setPriority",
  ];
}

/**
 * V8 flags `deno task start` runs the server with. Requests that wait on a slow client live
 * long enough to reach the old generation, whose next collection V8 schedules at a multiple of
 * the heap that survived the last one: 500 clients timed out every round left ~8 MB of dead
 * requests each, collected only after nine rounds, and after a busy hour the multiple let RSS
 * climb 50 MB over 16 rounds. Collecting once the old generation has grown 10 % keeps it flat
 * (rounds: 249 → 263 MB against 270 → 331 MB, same run, `deno task soak --runtimes deno
 * --seconds 120 --rounds 12`) for ~4 % fewer requests answered. The young generation keeps
 * V8's default size: a 1 MB one (which lowered peak RSS under 32 streams from ~269 to ~190 MB)
 * promoted a mixed workload's short-lived garbage and doubled /health's p99 under it.
 * `--expose-gc` lets the connection front collect its own heap after a burst of connections
 * (front_gc.ts); nothing on the server's thread calls it.
 */
export const DENO_SERVE_FLAGS = ["--v8-flags=--heap-growing-percent=10,--expose-gc"];

/**
 * `deno task start`'s command; `npm start` runs it with `exec`, so the server is the process
 * npm waits on and its signals reach the server (npm → `deno task` → deno left the server
 * running when npm was stopped).
 */
export const DENO_START_COMMAND = `node_modules/.bin/deno run ${
  [...denoServePermissions([...DENO_SERVE_READ, "$(realpath node_modules)"]), ...DENO_SERVE_FLAGS]
    .join(" ")
} server/main.ts`;

/** `start:bun`'s command (Bun has no permissions to narrow; the app confines reads itself). */
export const BUN_START_COMMAND = "node_modules/.bin/bun server/main_bun.ts";

/** The model `npm start` serves by default when it is installed (models/ptb-ugru). */
export const SHIPPED_DEFAULT_MODEL = "ptb-ugru";

/** The exit status of a server whose backend was poisoned (EX_SOFTWARE), for its supervisor. */
export const POISONED_EXIT = 70;

/** How long a poisoned server keeps running so open streams receive their `error` event. */
export const POISONED_GRACE_MS = 500;

export const NO_MODEL_HELP = (dir: string) =>
  `No model is installed: "${dir}" holds no model folder (one with a model.json).\n` +
  `Train one (PTB in $PTB_DIR or data/ptb) with\n  deno task train --cell ugru --hidden 256 --out ${dir}/ptb-ugru\n` +
  `or point MODELS_DIR at a folder of models, or MODEL_URL at a model served over HTTP(S).`;

/** Load the models and build the app; throws with NO_MODEL_HELP when there is none. */
export async function prepare(env: ServeEnv) {
  const t0 = performance.now();
  const backend = await initBackend("wasm", { threads: env.wasmThreads });
  const locations = env.modelUrl
    ? new Map([[modelName(env.modelUrl), env.modelUrl]])
    : await findModelDirs(env.modelsDir);
  if (locations.size === 0) throw new Error(NO_MODEL_HELP(env.modelsDir));
  const { models, failures } = await loadModelsSkipping(
    locations,
    { maxActive: env.maxActive, maxQueue: env.maxQueue },
    console.error,
  );
  if (failures.length > 0 && (env.strictModels || models.size === 0)) {
    const why = failures.map((f) => `model ${f.name}: ${f.error}`).join("\n");
    throw new Error(
      env.strictModels ? `STRICT_MODELS=1 and a model failed to load:\n${why}` : why,
    );
  }
  for (const m of models.values()) {
    m.scorers = Array.from(
      { length: env.scoreWorkers },
      () => createScoreHelper(m.config, m.params, undefined, env.scoreWorkerThreads),
    );
  }
  if (env.defaultModel && !models.has(env.defaultModel)) {
    throw new Error(
      `DEFAULT_MODEL "${env.defaultModel}" is not among the loaded models: ${
        [...models.keys()].join(", ")
      }`,
    );
  }
  const ms = performance.now() - t0;
  console.log(describeBackend(backend));
  console.log(
    env.scoreWorkers === 0
      ? "scoring: on this thread"
      : env.scoreWorkers > 1
      ? `scoring: long texts split between ${env.scoreWorkers} workers, ${
        env.scoreWorkerThreads === 1 ? "1 wasm thread" : `${env.scoreWorkerThreads} wasm threads`
      } each`
      : env.scoreWorkerThreads > 1
      ? `scoring: long texts on a worker with ${env.scoreWorkerThreads} wasm threads`
      : "scoring: long texts split between this thread and a worker",
  );
  for (const m of models.values()) {
    console.log(
      `model ${m.name}: ${m.config.cell} ${m.config.layers}×${m.config.hiddenSize}, ` +
        `${m.card.parameters.toLocaleString("en")} parameters, vocabulary ${m.config.vocabSize}`,
    );
  }
  // Requests that name no model get DEFAULT_MODEL, else the shipped default, else the first.
  const defaultModel = env.defaultModel ??
    (models.has(SHIPPED_DEFAULT_MODEL) ? SHIPPED_DEFAULT_MODEL : undefined);
  console.log(
    `loaded ${models.size} model(s) in ${ms.toFixed(0)} ms; default ${
      defaultModel ?? models.keys().next().value
    }`,
  );
  const health = createHealth();
  const metrics = createMetrics();
  const app = createApp({
    metrics,
    models,
    defaultModel,
    backend: backend.name,
    limits: env.limits,
    health,
    failedModels: failures,
    browser: env.browser,
  });
  return { app, models, health, metrics };
}
