import assert from "node:assert/strict";
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Tensor3D, Variable } from "../shared/tf.ts";
import { add, expmReference, mat, matmul, maxAbs, orthogonalityError } from "../shared/linalg.ts";
import { countDispatches } from "../shared/dispatch_count.ts";
import { createPrng } from "../shared/prng.ts";
import { haarOrthogonal } from "../shared/orthogonal_init.ts";
import { relativeError, useWasm } from "../shared/testing.ts";
import { expmTimesOnDevice } from "./expm.ts";
import { ADAM_DEFAULTS, applyStep, applyStepOnDevice, initOptState } from "./optimizer.ts";

/** A skew-symmetric [n,n] matrix with the given 1-norm. */
function skew(n: number, norm1: number, seed: number) {
  const prng = createPrng(seed);
  const a = mat(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = prng.normal();
      a.data[i * n + j] = v;
      a.data[j * n + i] = -v;
    }
  }
  let best = 0;
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(a.data[i * n + j]!);
    best = Math.max(best, s);
  }
  return { ...a, data: a.data.map((v) => (v * norm1) / (best || 1)) };
}

Deno.test("expmTimesOnDevice() gives exp(A)·W for ‖A‖₁ from 0 to 12 with no read", async () => {
  await useWasm();
  const n = 64;
  const w = haarOrthogonal(n, createPrng(4));
  for (const [k, norm] of [0, 1e-3, 0.05, 0.9, 3, 12].entries()) {
    const a = skew(n, norm, 40 + k);
    const want = matmul(expmReference(a), w);
    const { result: got, count } = await countDispatches(() =>
      tf.tidy(() =>
        expmTimesOnDevice(
          tf.tensor2d(Float32Array.from(a.data), [n, n]) as Tensor2D,
          tf.tensor2d(Float32Array.from(w.data), [n, n]) as Tensor2D,
        )
      )
    );
    assert.equal(count.reads, 0);
    const values = mat(n, n, got.dataSync());
    got.dispose();
    const err = maxAbs(add(values, want, -1));
    assert.ok(err < 5e-6, `‖A‖₁ = ${norm}: max |exp(A)·W − ref| = ${err}`);
    assert.ok(orthogonalityError(values) < 1e-5, `‖A‖₁ = ${norm}: orthogonal`);
  }
});

/** Two orthogonal matrices and two ordinary parameters, with fixed random gradients. */
function problem(seed: number) {
  const prng = createPrng(seed);
  const rand = (shape: number[], s = 1) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => s * prng.normal()),
      shape,
    );
  const values: Record<string, Tensor> = {
    U: tf.tensor2d(Float32Array.from(haarOrthogonal(16, prng).data), [16, 16]),
    V: tf.tensor2d(Float32Array.from(haarOrthogonal(16, prng).data), [16, 16]),
    W: rand([8, 16], 0.1),
    b: rand([16], 0.1),
  };
  const grads = [0, 1, 2, 3, 4].map(() =>
    Object.fromEntries(Object.entries(values).map(([k, v]) => [k, rand(v.shape, 3)]))
  );
  return { values, grads };
}

Deno.test("applyStepOnDevice() with the device plan equals applyStep() over 5 steps, reading nothing", async () => {
  await useWasm();
  const { values, grads } = problem(11);
  const orth = new Set(["U", "V"]);
  const run = async (plan: "host" | "device") => {
    const vars: Record<string, Variable> = {};
    for (const [k, v] of Object.entries(values)) vars[k] = tf.variable(v.clone(), true);
    const st = initOptState();
    const c = { kind: "adam", orthKind: "adam", ...ADAM_DEFAULTS, clip: 1 } as const;
    const norms: number[] = [];
    let reads = 0;
    for (const g of grads) {
      if (plan === "host") {
        norms.push(await applyStep(vars, g, orth, c, st, 0.01, 0.05));
        continue;
      }
      const { result, count } = await countDispatches(() =>
        applyStepOnDevice(vars, g, orth, { ...c, expmPlan: "device" }, st, 0.01, 0.05)
      );
      reads += count.reads;
      norms.push(result.dataSync()[0]!);
      result.dispose();
    }
    const out = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v.dataSync()]));
    Object.values(vars).forEach((v) => v.dispose());
    tf.dispose([...Object.values(st.m), ...Object.values(st.v)]);
    return { out, norms, reads };
  };
  const host = await run("host"), device = await run("device");
  assert.equal(device.reads, 0, "the device plan reads nothing back");
  assert.ok(relativeError(host.norms, device.norms) < 1e-6, `${host.norms} vs ${device.norms}`);
  for (const k of Object.keys(values)) {
    const err = relativeError(host.out[k]!, device.out[k]!);
    assert.ok(err < 1e-5, `${k}: relative difference ${err}`);
  }
  assert.ok(orthogonalityError(mat(16, 16, device.out.U!)) < 1e-5);
});

Deno.test("expmTimesOnDevice() scales each matrix of a stack by its own norm", async () => {
  await useWasm();
  const n = 32;
  const norms = [0.01, 10, 0];
  const as = norms.map((v, i) => skew(n, v, 60 + i));
  const ws = norms.map((_, i) => haarOrthogonal(n, createPrng(70 + i)));
  const got = tf.tidy(() =>
    expmTimesOnDevice(
      tf.stack(as.map((a) => tf.tensor2d(Float32Array.from(a.data), [n, n]))) as Tensor3D,
      tf.stack(ws.map((w) => tf.tensor2d(Float32Array.from(w.data), [n, n]))) as Tensor3D,
    ).dataSync()
  );
  for (const [i, v] of norms.entries()) {
    const want = matmul(expmReference(as[i]!), ws[i]!);
    const err = maxAbs(add(mat(n, n, got.slice(i * n * n, (i + 1) * n * n)), want, -1));
    assert.ok(err < 5e-6, `matrix ${i} (‖A‖₁ = ${v}): max |exp(A)·W − ref| = ${err}`);
  }
});
