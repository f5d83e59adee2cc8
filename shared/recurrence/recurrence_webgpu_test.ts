import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import { relativeError, useWasm, useWebGpu } from "../testing.ts";
import { gpuErrors } from "../webgpu.ts";
import { hasRecurrenceOp } from "./recurrence.ts";
import { label, layerCase, runLayer, VARIANTS } from "./testing.ts";
import { CELLS } from "../cells/mod.ts";

// Small sizes: on a software adapter every new shape compiles its shaders on the CPU.
const DIMS = { T: 4, B: 2, H: 5 };

Deno.test("recurrence() on webgpu gives the composed path's outputs and gradients for every cell", async () => {
  await useWasm();
  // The reference: the composed path on wasm, an independent computation on another backend.
  const cases = [];
  for (const [i, v] of VARIANTS.entries()) {
    for (const reset of [false, true]) {
      // A complex state needs an even width (its Re | Im halves).
      const complex = CELLS[v.cell].family === "crnn" || CELLS[v.cell].family === "cgru";
      const dims = complex ? { ...DIMS, H: DIMS.H + 1 } : DIMS;
      const c = layerCase(v, 30 + i, dims, reset);
      const what = `${label(v)} ${reset ? "reset" : "carried"}`;
      cases.push({ what, c, ref: await runLayer(c, false) });
    }
  }
  if (!(await useWebGpu())) return;
  try {
    assert.ok(hasRecurrenceOp(), "the webgpu backend runs the op");
    const errors0 = gpuErrors.length;
    for (const { what, c, ref } of cases) {
      const op = await runLayer(c, true);
      for (const [k, r] of Object.entries(ref)) {
        const e = relativeError(r, op[k]!);
        assert.ok(e <= 1e-4, `${what}: ${k} differs by relative ${e}`);
      }
    }
    assert.deepEqual(gpuErrors.slice(errors0), []);
    // Dispatches of one layer's forward and backward: T + (T + 1) for the op, and a few dozen
    // small kernels around it, against several per operation per step composed.
    const backend = tf.backend() as unknown as { runWebGPUProgram: (...a: unknown[]) => unknown };
    const run = backend.runWebGPUProgram.bind(backend);
    let dispatches = 0;
    backend.runWebGPUProgram = (...a: unknown[]) => (dispatches++, run(...a));
    try {
      const counts: Record<string, number> = {};
      for (const fused of [true, false]) {
        dispatches = 0;
        await runLayer(cases.find((c) => c.what === "gru carried")!.c, fused);
        counts[fused ? "fused" : "composed"] = dispatches;
      }
      assert.ok(counts.fused! <= 2 * DIMS.T + 1 + 30, `the op dispatched ${counts.fused} programs`);
      assert.ok(counts.composed! > 2 * counts.fused!, `composed: ${counts.composed}`);
    } finally {
      backend.runWebGPUProgram = run;
    }
  } finally {
    await useWasm();
  }
});
