/**
 * The one place rotor imports TensorFlow.js from.
 *
 * We use the `@tensorflow/tfjs` union package because its Node build registers every
 * gradient against the same `@tensorflow/tfjs-core` instance that the wasm backend's Node
 * build registers its kernels on. tfjs-core's per-file ESM build has extension-less
 * imports that Deno refuses, so importing tfjs-core + its gradients directly does not
 * load under Deno.
 */
export * as tf from "@tensorflow/tfjs";
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Variable } from "@tensorflow/tfjs";

import * as tfjs from "@tensorflow/tfjs";

/**
 * Like tf.tidy but for a callback that returns plain values (numbers, records of kept
 * tensors): every tensor created inside is disposed at the end unless tf.keep() was called.
 */
export function scoped<T>(f: () => T): T {
  tfjs.engine().startScope();
  try {
    return f();
  } finally {
    tfjs.engine().endScope();
  }
}

/**
 * Whether the active backend's dataSync() returns the values: wasm, cpu and tensorflow do;
 * WebGPU's (and WebGL's) reads must be awaited with data() (in a browser tab, WebGPU's
 * dataSync returns zeros).
 */
export function readsAreSync(): boolean {
  return ["wasm", "cpu", "tensorflow"].includes(tfjs.getBackend());
}
