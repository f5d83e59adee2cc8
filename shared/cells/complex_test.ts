import assert from "node:assert/strict";
import { tf } from "../tf.ts";
import type { Tensor2D } from "../tf.ts";
import { createPrng } from "../prng.ts";
import { useWasm } from "../testing.ts";
import { unitaryMatrix } from "../unitary_init.ts";
import { complexBlock, fromComplexBlock } from "./complex.ts";
import { CELLS } from "./mod.ts";
import type { CellOptions, CellParams } from "./types.ts";

/** A complex number as a pair, and the few operations the reference needs. */
type C = [number, number];
const add = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const mul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const scale = (a: C, s: number): C => [a[0] * s, a[1] * s];
const abs = (a: C) => Math.sqrt(a[0] ** 2 + a[1] ** 2 + 1e-8);
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Row vector h (K complex) times W (K×K complex, given as rows of pairs). */
function times(h: C[], w: C[][]): C[] {
  return w[0]!.map((_, j) => h.reduce((s, hi, i) => add(s, mul(hi, w[i]![j]!)), [0, 0] as C));
}

/** The stored [X | Y] [K, 2K] as complex rows, and a [Re | Im] vector as complex units. */
const matOf = (u: ArrayLike<number>, k: number): C[][] =>
  Array.from(
    { length: k },
    (_, i) => Array.from({ length: k }, (_, j) => [u[i * 2 * k + j]!, u[i * 2 * k + k + j]!] as C),
  );
const vecOf = (v: ArrayLike<number>, k: number, at = 0): C[] =>
  Array.from({ length: k }, (_, j) => [v[at + j]!, v[at + k + j]!] as C);

function randomParams(cell: "curnn" | "cugru", o: CellOptions, seed: number): CellParams {
  const prng = createPrng(seed);
  const p: CellParams = {};
  for (const [name, shape] of Object.entries(CELLS[cell].shapes(o))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = CELLS[cell].unitary.includes(name)
      ? unitaryMatrix("haar", o.hidden / 2, prng)
      : Float32Array.from({ length: size }, () => 0.7 * prng.normal());
    p[name] = tf.tensor(values, shape as [number, number]) as Tensor2D;
  }
  return p;
}

const K = 3, B = 2, IN = 4;
const OPTS = (activation: CellOptions["activation"]): CellOptions => ({
  inSize: IN,
  hidden: 2 * K,
  activation,
  leakySlope: 0.01,
  recurrentInit: "haar",
});

for (const activation of ["modrelu", "tanh"] as const) {
  Deno.test(`curnn (${activation}) steps equal a float64 complex recurrence`, async () => {
    await useWasm();
    const o = OPTS(activation);
    const p = randomParams("curnn", o, 3);
    const prng = createPrng(4);
    const xs = Array.from({ length: 3 }, () => Array.from({ length: B * IN }, () => prng.normal()));
    let h = tf.zeros([B, 2 * K]) as Tensor2D;
    const prep = CELLS.curnn.prepare(p);
    const W = await p.W!.data(), b = await p.b!.data(), U = matOf(await p.U!.data(), K);
    const bMod = activation === "modrelu" ? await p.b_mod!.data() : undefined;
    let ref: C[][] = Array.from({ length: B }, () => vecOf(new Float64Array(2 * K), K));
    for (const x of xs) {
      const xw = CELLS.curnn.project(p, tf.tensor2d(x, [B, IN]));
      h = CELLS.curnn.recur(p, prep, o, { h }, xw).h;
      ref = ref.map((hr, r) => {
        // x·W + b as K complex units: columns 0…K−1 real parts, K…2K−1 imaginary parts.
        const xwr = Array.from(
          { length: 2 * K },
          (_, j) =>
            b[j]! + x.slice(r * IN, (r + 1) * IN).reduce((s, v, i) => s + v * W[i * 2 * K + j]!, 0),
        );
        const a = times(hr, U).map((v, j) => add(v, vecOf(xwr, K)[j]!));
        return a.map((z, j) =>
          bMod
            ? scale(z, Math.max(0, abs(z) + bMod[j]!) / abs(z))
            : [Math.tanh(z[0]), Math.tanh(z[1])] as C
        );
      });
    }
    const got = await h.data();
    ref.forEach((row, r) =>
      row.forEach((z, j) => {
        assert.ok(Math.abs(got[r * 2 * K + j]! - z[0]) < 1e-5, `Re h[${r},${j}]`);
        assert.ok(Math.abs(got[r * 2 * K + K + j]! - z[1]) < 1e-5, `Im h[${r},${j}]`);
      })
    );
  });
}

Deno.test("cugru steps equal a float64 complex recurrence", async () => {
  await useWasm();
  const o = OPTS("tanh");
  const p = randomParams("cugru", o, 5);
  const prng = createPrng(6);
  const xs = Array.from({ length: 3 }, () => Array.from({ length: B * IN }, () => prng.normal()));
  let h = tf.zeros([B, 2 * K]) as Tensor2D;
  const prep = CELLS.cugru.prepare(p);
  const W = await p.W!.data(), b = await p.b!.data(), cn = vecOf(await p.c_n!.data(), K);
  const [Ur, Uz, Un] = [
    matOf(await p.U_r!.data(), K),
    matOf(await p.U_z!.data(), K),
    matOf(await p.U_n!.data(), K),
  ];
  let ref: C[][] = Array.from({ length: B }, () => vecOf(new Float64Array(2 * K), K));
  for (const x of xs) {
    h = CELLS.cugru.recur(p, prep, o, { h }, CELLS.cugru.project(p, tf.tensor2d(x, [B, IN]))).h;
    ref = ref.map((hr, r) => {
      const xw = Array.from(
        { length: 4 * K },
        (_, j) =>
          b[j]! + x.slice(r * IN, (r + 1) * IN).reduce((s, v, i) => s + v * W[i * 4 * K + j]!, 0),
      );
      const xn = vecOf(xw, K, 2 * K), hU_r = times(hr, Ur), hU_z = times(hr, Uz);
      const hU_n = times(hr, Un);
      return hr.map((hj, j) => {
        const rg = sigmoid(xw[j]! + hU_r[j]![0]), zg = sigmoid(xw[K + j]! + hU_z[j]![0]);
        const v = add(xn[j]!, scale(add(hU_n[j]!, cn[j]!), rg));
        const n = scale(v, Math.tanh(abs(v)) / abs(v));
        return add(scale(n, 1 - zg), scale(hj, zg));
      });
    });
  }
  const got = await h.data();
  ref.forEach((row, r) =>
    row.forEach((z, j) => {
      assert.ok(Math.abs(got[r * 2 * K + j]! - z[0]) < 1e-5, `Re h[${r},${j}]`);
      assert.ok(Math.abs(got[r * 2 * K + K + j]! - z[1]) < 1e-5, `Im h[${r},${j}]`);
    })
  );
});

Deno.test("complexBlock() is a homomorphism and fromComplexBlock() inverts it", async () => {
  await useWasm();
  const prng = createPrng(8);
  const rand = () =>
    tf.tensor2d(Array.from({ length: 2 * K * K }, () => prng.normal()), [K, 2 * K]);
  const a = rand(), c = rand();
  // (A·C) in complex arithmetic, stored [Re | Im].
  const A = matOf(await a.data(), K), Cm = matOf(await c.data(), K);
  const prod = A.map((row) => times(row, Cm));
  const want = prod.flatMap((row) => [...row.map((z) => z[0]), ...row.map((z) => z[1])]);
  const got = await fromComplexBlock(tf.matMul(complexBlock(a), complexBlock(c))).data();
  want.forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-5, `entry ${i}`));
  assert.deepEqual(
    Array.from(await fromComplexBlock(complexBlock(a)).data()),
    Array.from(await a.data()),
  );
});
