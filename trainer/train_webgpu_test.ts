/** The trainer on the webgpu backend against wasm (Mesa's software adapter in CI). */
import { COLUMNS, evalStream } from "../shared/eval_protocol.ts";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../shared/tf.ts";
import type { Tensor2D, Variable } from "../shared/tf.ts";
import { loadModel } from "../shared/model_format.ts";
import { scoreStreamAsync } from "../shared/perplexity.ts";
import { haarOrthogonal } from "../shared/orthogonal_init.ts";
import { createPrng } from "../shared/prng.ts";
import { relativeError, tempDir, useWasm, useWebGpu } from "../shared/testing.ts";
import { gpuErrors } from "../shared/webgpu.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { loadCorpus } from "./corpus.ts";
import { applyStep, initOptState } from "./optimizer.ts";
import { orthogonalityDrift, reorthogonalize } from "./orthogonal.ts";
import { quiet, smallRunArgs, writeSmallCorpus } from "./testing.ts";
import { train } from "./train.ts";

const STEPS = 20;

async function metrics(dir: string) {
  const lines = (await readFile(join(dir, "metrics.jsonl"), "utf8")).trim().split("\n");
  return lines.map((l) => JSON.parse(l));
}

async function checkpointParams(dir: string): Promise<Record<string, Float32Array>> {
  const ck = await readCheckpoint<unknown>(join(dir, "checkpoint.bin"));
  const out: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(ck.tensors)) {
    if (k.startsWith("param/")) out[k] = (await t.data()) as Float32Array;
    t.dispose();
  }
  return out;
}

Deno.test("20 uGRU training steps on webgpu follow wasm's loss curve; models and checkpoints cross backends", async () => {
  const data = await writeSmallCorpus(4);
  const runs = await tempDir();
  const args = (backend: string) => {
    const a = smallRunArgs(data, runs, backend);
    a[a.indexOf("--backend") + 1] = backend;
    return [
      ...a,
      ...["--cell", "ugru", "--dropout", "0.2", "--max-steps", `${STEPS}`, "--log-every", "1"],
      ...["--orth-check-every", "5"],
    ];
  };
  await useWasm();
  await quiet(() => train(args("wasm")));
  if (!(await useWebGpu())) return;
  const errors0 = gpuErrors.length;
  try {
    const logged: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => logged.push(a.join(" "));
    try {
      await train(args("webgpu"));
    } finally {
      console.log = log;
    }
    assert.ok(
      logged.some((l) => l.startsWith("scoring on backend wasm")),
      `the webgpu run is scored on wasm: ${logged.slice(-4).join(" | ")}`,
    );
    const [wasm, gpu] = [await metrics(join(runs, "wasm")), await metrics(join(runs, "webgpu"))];
    const losses = (m: { type: string; loss: number }[]) =>
      m.filter((r) => r.type === "batch").map((r) => r.loss);
    assert.equal(losses(gpu).length, STEPS);
    const e = relativeError(losses(wasm), losses(gpu));
    assert.ok(e <= 1e-3, `loss curves differ by relative ${e}: ${losses(gpu)} vs ${losses(wasm)}`);
    const drifts = gpu.filter((r) => r.orth_drift !== undefined).map((r) => r.orth_drift);
    assert.equal(drifts.length, STEPS / 5);
    assert.ok(Math.max(...drifts) <= 1e-5, `orthogonality drift on webgpu: ${drifts}`);
    assert.deepEqual(gpuErrors.slice(errors0), []);

    // Each model folder scores the same on the other backend as on its own (model.json's).
    const corpus = await loadCorpus(data, true);
    const rescore = async (run: string) => {
      const m = await loadModel(join(runs, run, "model"));
      const stream = evalStream(corpus.vocab.eos, corpus.valid);
      const s = await scoreStreamAsync(m.params, m.config, stream, COLUMNS);
      tf.dispose(Object.values(m.params));
      return { got: s.perplexity, saved: m.meta.metrics.valid_ppl_columns! };
    };
    // The trainer scores a webgpu run on wasm (train.ts moveToWasm): both saved figures come
    // from wasm, so scoring on webgpu is checked against them here.
    await useWebGpu();
    const wasmOnGpu = await rescore("wasm");
    const gpuOnGpu = await rescore("webgpu");
    await useWasm();
    const gpuOnWasm = await rescore("webgpu");
    for (
      const [what, r] of [
        ["wasm model on webgpu", wasmOnGpu],
        ["webgpu model on webgpu", gpuOnGpu],
        ["webgpu model on wasm", gpuOnWasm],
      ] as const
    ) {
      assert.ok(Math.abs(r.got - r.saved) <= 1e-4 * r.saved, `${what}: ${r.got} vs ${r.saved}`);
    }
    // The checkpoints hold the same parameters after the same steps, and each run continues
    // on the other backend: wasm resumes the webgpu run and webgpu the wasm run.
    const compare = async (when: string) => {
      const [a, b] = [
        await checkpointParams(join(runs, "wasm")),
        await checkpointParams(join(runs, "webgpu")),
      ];
      assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
      for (const k of Object.keys(a)) {
        const ek = relativeError(a[k]!, b[k]!);
        assert.ok(ek <= 1e-3, `${when}: ${k} differs between the checkpoints by relative ${ek}`);
      }
    };
    await compare(`after ${STEPS} steps`);
    const resume = (run: string, backend: string) =>
      quiet(() =>
        train(["--resume", join(runs, run), "--backend", backend, "--max-steps", `${STEPS + 3}`])
      );
    await resume("webgpu", "wasm");
    await useWebGpu();
    await resume("wasm", "webgpu");
    await useWasm();
    await compare("after resuming on the other backend");
  } finally {
    await useWasm();
  }
});

Deno.test("the orthogonal step on webgpu keeps max |UᵀU − I| ≤ 1e-5", async () => {
  if (!(await useWebGpu())) return;
  try {
    const n = 16, prng = createPrng(3);
    const u = tf.variable(tf.tensor2d(Float32Array.from(haarOrthogonal(n, prng).data), [n, n]));
    const vars: Record<string, Variable> = { U: u };
    const opt = initOptState();
    const cfg = { kind: "adam", orthKind: "adam", beta1: 0.9, beta2: 0.999, eps: 1e-8, clip: 1 };
    let worst = 0;
    for (let i = 0; i < 100; i++) {
      const g = tf.tensor2d(Float32Array.from({ length: n * n }, () => prng.normal()), [n, n]);
      await applyStep(vars, { U: g }, new Set(["U"]), cfg as never, opt, 0, 0.01);
      g.dispose();
      const drift = await orthogonalityDrift(u as unknown as Tensor2D);
      worst = Math.max(worst, drift);
      if (drift > 5e-6) {
        const fixed = reorthogonalize(u as unknown as Tensor2D);
        u.assign(fixed);
        fixed.dispose();
      }
    }
    assert.ok(worst <= 1e-5, `drift reached ${worst}`);
    // The matrix moved: the step is not a no-op.
    const start = tf.tensor2d(Float32Array.from(haarOrthogonal(n, createPrng(3)).data), [n, n]);
    const moved = await tf.max(tf.abs(tf.sub(u, start))).data();
    assert.ok(moved[0]! > 0.05, `U moved by only ${moved[0]}`);
    tf.dispose([u, start, ...Object.values(opt.m), ...Object.values(opt.v)]);
  } finally {
    await useWasm();
  }
});
