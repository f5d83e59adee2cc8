import { tf } from "./tf.ts";
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { installWasmKernels } from "./wasm_kernels.ts";
import { installFusedCells } from "./fused_cells.ts";
import { startWasm } from "./wasm_backend.ts";
import { installRecurrence } from "./recurrence/mod.ts";
import { describeAdapter, type GpuAdapter, probeAdapter, startWebGpu } from "./webgpu.ts";

export type BackendRequest = "auto" | "wasm" | "cpu" | "tensorflow" | "webgpu";
export const BACKENDS: readonly BackendRequest[] = ["auto", "wasm", "cpu", "tensorflow", "webgpu"];

export interface BackendChoice {
  /** The tfjs backend now active: "wasm", "cpu", "tensorflow" or "webgpu". */
  name: string;
  /** Why this backend was chosen, for the start-up log. */
  reason: string;
  /** wasm: threads XNNPACK runs matrix products on (1: the single-threaded build). */
  threads?: number;
  /** webgpu: the adapter it runs on. */
  adapter?: GpuAdapter;
}

export interface BackendOptions {
  /**
   * wasm: threads for XNNPACK's pool (default: $WASM_THREADS, else 1). Processes that
   * already run one backend per core (training workers, the score helper) keep 1.
   */
  threads?: number;
}

/**
 * WASM_THREADS of `env` as a thread count (`unset` where it is not set); anything but 1…64
 * is refused. Commands pass their own default: the server 1, train and eval 2.
 */
export function wasmThreadsFromEnv(
  unset = 1,
  env: Record<string, string | undefined> = process.env,
): number {
  const raw = env.WASM_THREADS;
  if (raw === undefined || raw === "") return unset;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new Error(`WASM_THREADS must be an integer from 1 to 64, got "${raw}"`);
  }
  return n;
}

type NativePackage = "@tensorflow/tfjs-node-gpu" | "@tensorflow/tfjs-node";

/**
 * Absolute URL of the folder that holds the wasm backend's `.wasm` files, where the runtime
 * can say (import.meta.resolve: Deno, Bun); else undefined, and the backend looks beside its
 * own script.
 */
export function wasmDirectory(): string | undefined {
  if (typeof import.meta.resolve !== "function") return undefined;
  // An absolute file URL in Deno and Bun, whatever the cwd.
  const main = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  return new URL("./", main).href;
}

async function tryNative(
  packages: readonly NativePackage[],
): Promise<{ ok: true; pkg: string } | { ok: false; errors: string[] }> {
  const errors: string[] = [];
  for (const pkg of packages) {
    try {
      await import(pkg);
      if (tf.findBackend("tensorflow")) return { ok: true, pkg };
      errors.push(`${pkg} loaded but registered no "tensorflow" backend`);
    } catch (err) {
      errors.push(`${pkg}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return { ok: false, errors };
}

/** The start-up log's line for `choice`: name, why, and wasm's threads or the GPU adapter. */
export function describeBackend(choice: BackendChoice): string {
  if (choice.adapter) {
    return `backend ${choice.name} (${choice.reason}) on ${describeAdapter(choice.adapter)}`;
  }
  return `backend ${choice.name} (${choice.reason}; ${choice.threads ?? 1} thread(s))`;
}

/** Start the wasm backend; returns the threads it got (threaded build, else 1). */
async function useWasm(threads: number): Promise<number> {
  const wasmPaths = wasmDirectory();
  let ok = false;
  if (threads > 1 && typeof Deno === "undefined") {
    // Bun's worker_threads fails inside the threaded build's start-up (not yet bridged).
    console.warn("wasm: the threaded build runs under Deno only; using one thread");
    threads = 1;
  }
  if (threads > 1) {
    if (wasmPaths !== undefined) setWasmPaths(wasmPaths);
    // Imported here: node:worker_threads exists only where the threaded build can run.
    const { withWasmThreads } = await import("./wasm_threads.ts");
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
    setThreadsCount(threads);
    ok = await withWasmThreads(threads, () => tf.setBackend("wasm"));
    if (!ok) console.warn(`wasm: the threaded build did not start; using one thread`);
  }
  if (!ok) {
    await startWasm({ wasmPaths });
    installRecurrence();
    return 1;
  }
  await tf.ready();
  installWasmKernels();
  installFusedCells();
  installRecurrence();
  return getThreadsCount();
}

/**
 * Select and initialise a TensorFlow.js backend.
 *
 * `tensorflow` loads `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node`, and fails
 * with an error naming the package to install. `webgpu` runs on WebGPU's adapter (Deno only),
 * software or not. `auto` prefers a GPU: tfjs-node-gpu when it loads, then WebGPU when its
 * adapter is hardware, then tfjs-node, else wasm; the reason says why.
 *
 * @example
 * const choice = await initBackend("auto");
 * console.log(describeBackend(choice));
 */
export async function initBackend(
  request: BackendRequest = "auto",
  opts: BackendOptions = {},
): Promise<BackendChoice> {
  const threads = opts.threads ?? wasmThreadsFromEnv();
  if (!BACKENDS.includes(request)) {
    throw new Error(`Unknown backend "${request}"; expected one of ${BACKENDS.join(", ")}`);
  }
  if (request === "cpu") {
    if (!(await tf.setBackend("cpu"))) throw new Error("The cpu backend failed to initialise");
    return { name: "cpu", reason: "requested" };
  }
  if (request === "wasm") {
    return { name: "wasm", reason: "requested", threads: await useWasm(threads) };
  }
  if (request === "webgpu") {
    const probe = await probeAdapter();
    if (!probe.ok) throw new Error(`The webgpu backend cannot start: ${probe.reason}`);
    await startWebGpu();
    installRecurrence();
    return { name: "webgpu", reason: "requested", adapter: probe.adapter };
  }
  const gpuNative = await tryNative(["@tensorflow/tfjs-node-gpu"]);
  if (gpuNative.ok) return await useNative(gpuNative.pkg);
  const reasons = [`no @tensorflow/tfjs-node-gpu`];
  if (request === "auto") {
    const probe = await probeAdapter();
    if (probe.ok && !probe.adapter.software) {
      await startWebGpu();
      installRecurrence();
      return { name: "webgpu", reason: "auto: a hardware WebGPU adapter", adapter: probe.adapter };
    }
    reasons.push(
      probe.ok
        ? `WebGPU's adapter is ${describeAdapter(probe.adapter)}`
        : `no WebGPU adapter: ${probe.reason}`,
    );
  }
  const cpuNative = await tryNative(["@tensorflow/tfjs-node"]);
  if (cpuNative.ok) return await useNative(cpuNative.pkg);
  if (request === "tensorflow") {
    const errors = [
      ...(gpuNative.ok ? [] : gpuNative.errors),
      ...(cpuNative.ok ? [] : cpuNative.errors),
    ];
    throw new Error(
      `The tensorflow backend needs "@tensorflow/tfjs-node-gpu" (CUDA) or "@tensorflow/tfjs-node" ` +
        `installed and able to load libtensorflow; run "npm install @tensorflow/tfjs-node-gpu" ` +
        `on a machine that can download it (${errors.join("; ")})`,
    );
  }
  return {
    name: "wasm",
    reason: `auto: ${reasons.join("; ")}; no native TensorFlow package could be loaded`,
    threads: await useWasm(threads),
  };
}

async function useNative(pkg: string): Promise<BackendChoice> {
  await tf.setBackend("tensorflow");
  await tf.ready();
  return { name: "tensorflow", reason: `loaded ${pkg}` };
}

export { wasmHeapBytes } from "./wasm_backend.ts";
