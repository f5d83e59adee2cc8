/** Helpers shared by the test files (imported only from *_test.ts). */
import { initBackend } from "./backend.ts";
import { tf } from "./tf.ts";

let ready: Promise<unknown> | undefined;

/** Initialise the wasm backend once per test process. */
export function useWasm(): Promise<unknown> {
  ready ??= initBackend("wasm");
  return ready.then(() => tf.setBackend("wasm"));
}

export function assertClose(actual: number, expected: number, tol: number, what = "value"): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  if (!(err <= tol)) {
    throw new Error(
      `${what}: ${actual} differs from ${expected} by relative ${err.toExponential(2)} > ${tol}`,
    );
  }
}
