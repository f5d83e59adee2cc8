import { tf } from "./tf.ts";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { installWasmKernels } from "./wasm_kernels.ts";

export type BackendRequest = "auto" | "wasm" | "cpu" | "tensorflow";
export const BACKENDS: readonly BackendRequest[] = ["auto", "wasm", "cpu", "tensorflow"];

export interface BackendChoice {
  /** The tfjs backend now active: "wasm", "cpu" or "tensorflow". */
  name: string;
  /** Why this backend was chosen, for the start-up log. */
  reason: string;
}

const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

/** Absolute URL of the folder that holds the wasm backend's `.wasm` files. */
export function wasmDirectory(): string {
  // import.meta.resolve gives an absolute file URL in Deno and Bun, whatever the cwd.
  const main = import.meta.resolve("@tensorflow/tfjs-backend-wasm");
  return new URL("./", main).href;
}

async function tryNative(): Promise<{ ok: true; pkg: string } | { ok: false; errors: string[] }> {
  const errors: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
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

async function useWasm(): Promise<void> {
  setWasmPaths(wasmDirectory());
  // The threaded build needs worker plumbing that Deno and Bun do not give it here.
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  if (!(await tf.setBackend("wasm"))) throw new Error("The wasm backend failed to initialise");
  await tf.ready();
  installWasmKernels();
}

/**
 * Select and initialise a TensorFlow.js backend.
 *
 * `tensorflow` loads `@tensorflow/tfjs-node-gpu`, else `@tensorflow/tfjs-node`, and fails
 * with an error naming the package to install; `auto` tries the same and falls back to wasm.
 *
 * @example
 * const { name, reason } = await initBackend("auto");
 * console.log(`backend ${name}: ${reason}`);
 */
export async function initBackend(request: BackendRequest = "auto"): Promise<BackendChoice> {
  if (!BACKENDS.includes(request)) {
    throw new Error(`Unknown backend "${request}"; expected one of ${BACKENDS.join(", ")}`);
  }
  if (request === "cpu") {
    if (!(await tf.setBackend("cpu"))) throw new Error("The cpu backend failed to initialise");
    return { name: "cpu", reason: "requested" };
  }
  if (request === "wasm") {
    await useWasm();
    return { name: "wasm", reason: "requested" };
  }
  const native = await tryNative();
  if (native.ok) {
    await tf.setBackend("tensorflow");
    await tf.ready();
    return { name: "tensorflow", reason: `loaded ${native.pkg}` };
  }
  if (request === "tensorflow") {
    throw new Error(
      `The tensorflow backend needs "@tensorflow/tfjs-node-gpu" (CUDA) or "@tensorflow/tfjs-node" ` +
        `installed and able to load libtensorflow; run "npm install @tensorflow/tfjs-node-gpu" ` +
        `on a machine that can download it (${native.errors.join("; ")})`,
    );
  }
  await useWasm();
  return { name: "wasm", reason: "no native TensorFlow package could be loaded" };
}
