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

// The bound of a GPU trainer that dispatches about one kernel per time step forward and one
// back (the recurrence op) and a fixed number around them: 4·T + 60 at B = 20, T = 35, the
// size of a PTB step. The count does not depend on H; V = 10,000 keeps the loss's two blocks.
Deno.test("every cell's training step on webgpu dispatches at most 4·T + 60 (B = 20, T = 35)", async () => {
  if (!(await useWebGpu())) return;
  const T = 35, bound = 4 * T + 60;
  const models = (["rnn", "urnn", "gru", "ugru", "lstm", "curnn", "cugru"] as const).map((
    cell,
  ) => ({
    label: cell,
    cfg: parseModelConfig({
      cell,
      vocabSize: 10000,
      embedSize: 8,
      hiddenSize: 8,
      tieWeights: true,
    }),
  }));
  const rows = await timeSteps(models, { batch: 20, bptt: T, reps: 1, seed: 1 });
  for (const r of rows) {
    console.log(
      `  ${r.label} on webgpu: ${r.dispatches.dispatches} dispatches per step ` +
        `(optimizer ${r.optimizerDispatches}), bound ${bound}`,
    );
  }
  for (const r of rows) {
    assert.ok(r.dispatches.dispatches <= bound, `${r.label}: ${r.dispatches.dispatches}`);
    assert.equal(r.dispatches.reads, 0, `${r.label} reads nothing back`);
  }
});
