/**
 * The wasm backend, started the same way wherever JavaScript runs: one thread, rotor's wasm
 * kernels and fused cell steps installed. Deno and Bun reach it through shared/backend.ts
 * (which adds the threaded build); a Worker or a browser tab calls it directly.
 */
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "./tf.ts";
import { installFusedCells } from "./fused_cells.ts";
import { installWasmKernels } from "./wasm_kernels.ts";

export interface WasmStartOptions {
  /**
   * Folder URL (ending in `/`) the `.wasm` files are fetched from. Unset: the backend's own
   * default (beside its script), or whatever a bundle handed Emscripten (edge/build.ts).
   */
  wasmPaths?: string;
}

/** Start the single-threaded wasm backend and install rotor's kernels on it. */
export async function startWasm(opts: WasmStartOptions = {}): Promise<void> {
  if (opts.wasmPaths !== undefined) setWasmPaths(opts.wasmPaths);
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  if (!(await tf.setBackend("wasm"))) throw new Error("The wasm backend failed to initialise");
  await tf.ready();
  installWasmKernels();
  installFusedCells();
}

/**
 * Bytes of the wasm backend's heap (0 on another backend): it grows to the largest working set
 * the process has needed and never shrinks, so it is the number to watch for a request that
 * costs memory for good.
 */
export function wasmHeapBytes(): number {
  if (tf.getBackend() !== "wasm") return 0;
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.byteLength ?? 0;
}
