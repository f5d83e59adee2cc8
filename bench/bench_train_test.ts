import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, useWasm } from "../shared/testing.ts";
import { parseResult, TrainBenchSchema } from "./results.ts";
import { benchTrain, kernelTimeTable } from "./bench_train.ts";
import { quiet } from "../trainer/testing.ts";
import { profileStep } from "../trainer/step_time.ts";
import { tf } from "../shared/tf.ts";

Deno.test("bench:train times every cell at each BPTT, in one process and with workers", async () => {
  await useWasm();
  const json = join(await tempDir(), "train.json");
  const r = await quiet(() =>
    benchTrain([
      ...["--cells", "rnn,urnn", "--bptt", "3,4", "--workers", "1,2", "--reps", "2"],
      ...["--hidden", "4", "--vocab", "20", "--batch", "2", "--json", json],
    ])
  );
  const saved = parseResult(TrainBenchSchema, await readFile(json, "utf8"), "bench:train");
  assert.deepEqual(saved, r);
  assert.equal(saved.threads, 1, "the backend useWasm() started: one thread");
  assert.deepEqual(saved.runs.map((x) => [x.bptt, x.workers]), [[3, 1], [3, 2], [4, 1], [4, 2]]);
  for (const run of saved.runs) {
    assert.deepEqual(run.cells.map((c) => c.cell), ["rnn", "urnn"]);
    for (const c of run.cells) {
      assert.equal(c.stepSamples.length, 2);
      assert.equal(c.tokensPerS, (2 * run.bptt) / (c.stepMs / 1000));
    }
  }
  assert.deepEqual([saved.roofline.m, saved.roofline.k, saved.roofline.n], [6, 4, 20]);
});

Deno.test("bench:train --recurrence fused,composed times both unrolls of every cell", async () => {
  await useWasm();
  const r = await quiet(() =>
    benchTrain([
      ...["--cells", "gru,lstm", "--bptt", "3", "--workers", "1", "--reps", "2"],
      ...["--hidden", "4", "--vocab", "20", "--batch", "2", "--recurrence", "fused,composed"],
      "--kernels",
    ])
  );
  const rows = r!.runs[0]!.cells.map((c) => `${c.cell} ${c.recurrence}`);
  assert.deepEqual(rows, ["gru fused", "lstm fused", "gru composed", "lstm composed"]);
  await assert.rejects(
    () => benchTrain(["--recurrence", "fused,unrolled"]),
    /Invalid item "unrolled" in --recurrence/,
  );
});

Deno.test("bench:train refuses a worker count that does not divide the batch", async () => {
  await assert.rejects(
    () => benchTrain(["--workers", "1,3"]),
    /--batch 20 must be a multiple of workers 3/,
  );
  await assert.rejects(() => benchTrain(["--cells", "rnn,cnn"]), /Invalid item "cnn" in --cells/);
});

Deno.test("profileStep() times a step by registered kernel, leaving out the scopes around them", async () => {
  await useWasm();
  const square = tf.customGrad((x) => ({
    value: tf.matMul(x as tf.Tensor2D, x as tf.Tensor2D),
    gradFunc: (dy) => dy,
  }));
  const t0 = performance.now();
  const ms = await profileStep(async () => {
    const a = tf.ones([128, 128]);
    const y = square(a);
    await y.data();
    tf.dispose([a, y]);
  });
  const wall = performance.now() - t0;
  assert.ok("BatchMatMul" in ms, Object.keys(ms).join(", "));
  for (const k of Object.keys(ms)) assert.ok(tf.getKernel(k, "wasm"), `${k} is a kernel`);
  const total = Object.values(ms).reduce((a, b) => a + b, 0);
  assert.ok(total > 0 && total <= wall, `${total} ms of kernels in ${wall} ms`);
});

Deno.test("kernelTimeTable() lists the kernels up to 95 % of the time, then the rest", () => {
  assert.equal(
    kernelTimeTable({ Exp: 6, BatchMatMul: 90, Sum: 4 }),
    "      kernel time 100.0 ms: BatchMatMul 90.0 ms (90 %), Exp 6.0 ms (6 %), others 4.0 ms",
  );
});
