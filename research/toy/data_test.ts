import assert from "node:assert/strict";
import { createPrng } from "../../shared/prng.ts";
import { parseTaskConfig, sampleExample, TASK_KINDS } from "./tasks.ts";
import {
  heldOutSet,
  isHeldOut,
  majorityShare,
  streamSeed,
  toBatch,
  trainingStream,
} from "./data.ts";

const key = (x: ArrayLike<number>) => Array.from(x).join(",");

Deno.test("trainingStream() and heldOutSet() give the same data for the same seed", () => {
  for (const task of TASK_KINDS) {
    const c = parseTaskConfig({ task, length: 12 });
    const a = trainingStream(c, 5), b = trainingStream(c, 5), other = trainingStream(c, 6);
    for (let i = 0; i < 3; i++) {
      const ba = a(4);
      assert.deepEqual(ba, b(4));
      assert.notDeepEqual(ba.x, other(4).x);
    }
    assert.deepEqual(heldOutSet(c, 5, 20), heldOutSet(c, 5, 20));
    assert.notDeepEqual(heldOutSet(c, 5, 20), heldOutSet(c, 6, 20));
  }
});

Deno.test("streamSeed() differs between training and held-out and between tasks", () => {
  const c = parseTaskConfig({ task: "first", length: 20 });
  const d = parseTaskConfig({ task: "first", length: 21 });
  assert.notEqual(streamSeed("train", c, 1), streamSeed("heldout", c, 1));
  assert.notEqual(streamSeed("heldout", c, 1), streamSeed("heldout", d, 1));
});

Deno.test("heldOutSet() never shares a sequence with training batches, by construction", () => {
  // Only 3^5 = 243 distinct sequences, so chance alone would make the two sides overlap.
  const c = parseTaskConfig({ task: "first", length: 5, classes: 3 });
  const held = heldOutSet(c, 1, 500);
  assert.ok(held.every(isHeldOut));
  const heldKeys = new Set(held.map((e) => key(e.x)));
  const next = trainingStream(c, 1);
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const b = next(20);
    for (let s = 0; s < b.size; s++) {
      const seq = Array.from({ length: b.steps }, (_, t) => b.x[t * b.size + s]!);
      seen.add(key(seq));
      assert.ok(!isHeldOut({ x: Int32Array.from(seq), y: new Int32Array() }));
    }
  }
  assert.ok(seen.size > 100, `training drew only ${seen.size} distinct sequences`);
  for (const k of seen) assert.ok(!heldKeys.has(k), `sequence ${k} is on both sides`);
});

Deno.test("isHeldOut() puts about 1 in 8 sequences on the held-out side for every task", () => {
  for (const task of TASK_KINDS) {
    const c = parseTaskConfig({ task, length: 20 });
    const prng = createPrng(3);
    let held = 0;
    for (let i = 0; i < 2000; i++) held += isHeldOut(sampleExample(c, prng)) ? 1 : 0;
    assert.ok(held / 2000 > 0.1 && held / 2000 < 0.15, `${task}: share ${held / 2000}`);
  }
});

Deno.test("toBatch() lays sequences out time-major", () => {
  const c = parseTaskConfig({ task: "first", length: 3, classes: 10 });
  const b = toBatch(c, [
    { x: Int32Array.of(1, 2, 3), y: Int32Array.of(1) },
    { x: Int32Array.of(4, 5, 6), y: Int32Array.of(4) },
  ]);
  assert.deepEqual(Array.from(b.x), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(Array.from(b.y), [1, 4]);
  const a = parseTaskConfig({ task: "adding", length: 2 });
  const ba = toBatch(a, [
    { x: Float32Array.of(0.5, 1, 0.25, 1), y: Float32Array.of(0.75) },
    { x: Float32Array.of(0.1, 1, 0.2, 1), y: Float32Array.of(0.3) },
  ]);
  assert.deepEqual(Array.from(ba.x), Array.from(Float32Array.of(0.5, 1, 0.1, 1, 0.25, 1, 0.2, 1)));
});

Deno.test("majorityShare() finds the most common answer", () => {
  const ex = [3, 3, 1, 3, 2].map((v) => ({ x: new Int32Array(), y: Int32Array.of(v) }));
  assert.deepEqual(majorityShare(ex), { label: 3, share: 0.6 });
});
