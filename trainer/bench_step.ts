/**
 * Forward + backward time per batch (B = 20, T = 35, H = 256, V = 10,000) for each cell on
 * the chosen backend, beside the GFLOPS of a plain [700×256]·[256×10000] matMul measured in
 * the same run: `deno task bench:step [--backend wasm] [--reps 5]`.
 */
import { parseArgs } from "node:util";
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D } from "../shared/tf.ts";
import { type BackendRequest, initBackend } from "../shared/backend.ts";
import { type CellKind, parseModelConfig } from "../shared/config.ts";
import { forwardLoss, initParams, orthogonalParams, zeroState } from "../shared/model.ts";
import { applyStep, initOptState } from "./optimizer.ts";

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "wasm" },
    reps: { type: "string", default: "5" },
    bptt: { type: "string", default: "35" },
    cells: { type: "string", default: "rnn,urnn,gru,ugru,lstm" },
  },
});
const chosen = await initBackend(values.backend as BackendRequest);
const reps = Number(values.reps), T = Number(values.bptt), B = 20, H = 256, V = 10000;

function time(f: () => void, n: number): number {
  f(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t0) / n;
}

const a = tf.randomNormal([B * T, H]) as Tensor2D, b = tf.randomNormal([H, V]) as Tensor2D;
const mm = time(() => tf.tidy(() => void tf.matMul(a, b).dataSync()), reps);
const gflops = (2 * B * T * H * V) / mm / 1e6;
console.log(
  `backend ${chosen.name}; matMul [${B * T}×${H}]·[${H}×${V}]: ${mm.toFixed(1)} ms = ${
    gflops.toFixed(1)
  } GFLOPS`,
);

const rows: { cell: string; ms: number; stepMs: number }[] = [];
for (const cell of values.cells.split(",") as CellKind[]) {
  const cfg = parseModelConfig({
    cell,
    activation: "tanh",
    vocabSize: V,
    embedSize: H,
    hiddenSize: H,
  });
  const params = initParams(cfg, 1);
  const vars = Object.fromEntries(
    Object.entries(params).map(([k, v]) => [k, tf.variable(v, true, `bench/${cell}/${k}`)]),
  );
  const orth = new Set(orthogonalParams(cfg));
  const opt = initOptState();
  const optCfg = {
    kind: "adam" as const,
    orthKind: "adam" as const,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    clip: 1,
  };
  const x = tf.randomUniformInt([B, T], 0, V) as Tensor2D,
    y = tf.randomUniformInt([B, T], 0, V) as Tensor2D;
  const grads = () => {
    const { grads } = tf.variableGrads(
      () => forwardLoss(vars, cfg, x, y, zeroState(cfg, B)).loss as tf.Scalar,
      Object.values(vars),
    );
    const byName: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(vars)) byName[k] = grads[v.name]!;
    return byName;
  };
  const ms = time(() => tf.tidy(() => Object.values(grads()).forEach((g) => g.dataSync())), reps);
  // A whole training step: forward, backward, clipping, Adam, and the Lie-group step on the
  // orthogonal matrices (what the poster's "time per batch" compares).
  const stepMs = time(() =>
    tf.tidy(() => {
      applyStep(vars, grads(), orth, optCfg, opt, 1e-3, 1e-4);
      vars.embedding!.dataSync();
    }), reps);
  rows.push({ cell, ms, stepMs });
  console.log(
    `${cell.padEnd(5)} forward+backward ${ms.toFixed(1)} ms/batch, whole step ${
      stepMs.toFixed(1)
    } ms/batch ` +
      `(${((B * T) / (stepMs / 1000)).toFixed(0)} tokens/s)`,
  );
  Object.values(vars).forEach((v) => v.dispose());
}
const find = (c: string) => rows.find((r) => r.cell === c);
for (const [u, p] of [["urnn", "rnn"], ["ugru", "gru"]] as const) {
  const ur = find(u), pr = find(p);
  if (ur && pr) {
    console.log(
      `${u} vs ${p}: whole step ${((ur.stepMs / pr.stepMs - 1) * 100).toFixed(1)} % ` +
        `(forward+backward alone ${((ur.ms / pr.ms - 1) * 100).toFixed(1)} %)`,
    );
  }
}
