import { initBackend } from "../../../shared/backend.ts";
import { createPrng } from "../../../shared/prng.ts";
import { parseTaskConfig, taskShape } from "../tasks.ts";
import { heldOutSet } from "../data.ts";
import { initToyParams, toyModelConfig } from "../model.ts";
import { evaluateToy } from "../run.ts";
await initBackend("wasm");
const c = parseTaskConfig({ task: "first", length: 100 });
let t = performance.now();
const ex = heldOutSet(c, 1, 1000);
console.log("gen", performance.now() - t);
const m = toyModelConfig({ cell: "urnn", activation: "tanh", leakySlope: 0.01 }, 64, taskShape(c));
const p = initToyParams(m, createPrng(1));
for (const eb of [500, 100, 1000]) {
  t = performance.now();
  evaluateToy(p, m, c, ex, eb);
  console.log("eval", eb, performance.now() - t);
}
