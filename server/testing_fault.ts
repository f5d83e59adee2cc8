/**
 * The real server entry (server/main.ts under Deno, server/main_bun.ts under Bun) with a fault
 * that can be switched on from outside: once the file named by FAULT_FILE exists, the backend's
 * Softmax kernel traps as a corrupt wasm heap does. Only server/poisoned_exit_test.ts runs it,
 * to see a poisoned server exit for its supervisor as a real process.
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { tf } from "../shared/tf.ts";

const flag = process.env.FAULT_FILE;
if (!flag) throw new Error("FAULT_FILE is not set");
// Ops reach their kernels through the engine's runKernel, whichever kernel is registered.
const engine = tf.engine() as unknown as { runKernel(name: string, ...rest: unknown[]): unknown };
const runKernel = engine.runKernel.bind(engine);
engine.runKernel = (name: string, ...rest: unknown[]) => {
  if (name === "Softmax" && existsSync(flag)) {
    throw new WebAssembly.RuntimeError("memory access out of bounds");
  }
  return runKernel(name, ...rest);
};

await import("Bun" in globalThis ? "./main_bun.ts" : "./main.ts");
