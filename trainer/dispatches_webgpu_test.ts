import assert from "node:assert/strict";
import { parseModelConfig } from "../shared/config.ts";
import { useWebGpu } from "../shared/testing.ts";
import { timeSteps } from "./step_time.ts";

// Dispatches per training step on WebGPU (Mesa's software adapter in CI): the figure that sets
// a small model's step time on a real GPU. Tiny sizes: every shape compiles shaders on the CPU.
Deno.test("a training step on webgpu reads nothing back, and its dispatches grow with T alone", async () => {
  if (!(await useWebGpu())) return;
  const count = async (bptt: number, hidden: number, vocab: number) => {
    const cfg = parseModelConfig({
      cell: "ugru",
      vocabSize: vocab,
      embedSize: hidden,
      hiddenSize: hidden,
      tieWeights: true,
    });
    const [row] = await timeSteps([{ label: "ugru", cfg }], { batch: 2, bptt, reps: 1, seed: 1 });
    return { ...row!.dispatches, optimizer: row!.optimizerDispatches };
  };
  const t3 = await count(3, 6, 11), t6 = await count(6, 6, 11), wide = await count(6, 10, 17);
  const perStep = (t6.dispatches - t3.dispatches) / 3;
  const fixed = t3.dispatches - 3 * perStep;
  console.log(
    `  ugru on webgpu: ${t3.dispatches} dispatches at T = 3, ${t6.dispatches} at T = 6: ` +
      `${perStep}·T + ${fixed}, of which the optimizer ${t6.optimizer}; reads ${t6.reads}`,
  );
  assert.equal(t3.reads, 0, "the step reads nothing back on webgpu");
  assert.equal(t6.reads, 0);
  assert.ok(perStep > 0 && Number.isInteger(perStep), `per time step: ${perStep}`);
  assert.equal(wide.dispatches, t6.dispatches, "H and V do not change the count");
  assert.equal(t3.optimizer, t6.optimizer, "the optimizer's count does not grow with T");
});
