import assert from "node:assert/strict";
import { tf } from "../../shared/tf.ts";
import { createPrng } from "../../shared/prng.ts";
import { useWasm } from "../../shared/testing.ts";
import { parseTaskConfig, TASK_KINDS, taskShape } from "./tasks.ts";
import { toBatch, trainingStream } from "./data.ts";
import {
  initToyParams,
  toyForward,
  toyLoss,
  toyModelConfig,
  toyOrthogonal,
  toyParamShapes,
} from "./model.ts";

const RNN = { cell: "rnn", activation: "linear", leakySlope: 0.01 } as const;

Deno.test("toyParamShapes() and toyOrthogonal() name the cell's and the read-out's parameters", () => {
  const c = parseTaskConfig({ task: "kth", length: 10 });
  const m = toyModelConfig({ ...RNN, cell: "urnn" }, 6, taskShape(c));
  assert.deepEqual(toyParamShapes(m), {
    "cell/W": [101, 6],
    "cell/U": [6, 6],
    "cell/b": [6],
    "out/W": [6, 101],
    "out/b": [101],
  });
  assert.deepEqual(toyOrthogonal(m), ["cell/U"]);
  assert.deepEqual(toyOrthogonal(toyModelConfig(RNN, 6, taskShape(c))), []);
});

Deno.test("toyForward() matches a hand-computed linear RNN", async () => {
  await useWasm();
  // K = 2 symbols, H = 2, L = 2: h1 = W[x0] + b, h2 = W[x1] + b + h1·U, out = h2·V + c.
  const c = parseTaskConfig({ task: "first", length: 2, classes: 2 });
  const m = toyModelConfig(RNN, 2, taskShape(c));
  const W = [[1, 2], [3, 4]], U = [[0, 1], [-1, 0]], b = [0.5, -0.5];
  const V = [[1, 0], [0, 2]], cb = [0.1, 0.2];
  const params = {
    "cell/W": tf.tensor2d(W),
    "cell/U": tf.tensor2d(U),
    "cell/b": tf.tensor1d(b),
    "out/W": tf.tensor2d(V),
    "out/b": tf.tensor1d(cb),
  };
  const batch = toBatch(c, [{ x: Int32Array.of(1, 0), y: Int32Array.of(1) }]);
  const out = toyForward(params, m, batch).arraySync();
  const h1 = [W[1]![0]! + b[0]!, W[1]![1]! + b[1]!]; // [3.5, 3.5]
  const h2 = [0, 1].map((j) => W[0]![j]! + b[j]! + h1[0]! * U[0]![j]! + h1[1]! * U[1]![j]!);
  const expected = [0, 1].map((j) => h2[0]! * V[0]![j]! + h2[1]! * V[1]![j]! + cb[j]!);
  assert.deepEqual(out.map((r) => r.map((v) => +v.toFixed(5))), [
    expected.map((v) => +v.toFixed(5)),
  ]);
});

Deno.test("toyForward() gives one output per sequence, or per step for copy", async () => {
  await useWasm();
  for (const task of TASK_KINDS) {
    const c = parseTaskConfig({ task, length: 6 });
    const s = taskShape(c);
    for (const cell of ["urnn", "ugru", "lstm"] as const) {
      const m = toyModelConfig({ ...RNN, cell, activation: "modrelu" }, 4, s);
      const params = initToyParams(m, createPrng(1));
      const batch = trainingStream(c, 1)(3);
      tf.tidy(() => {
        const out = toyForward(params, m, batch);
        assert.deepEqual(out.shape, [s.everyStep ? 3 * s.steps : 3, s.outSize]);
        assert.ok(Number.isFinite(toyLoss(m, out, batch).dataSync()[0]));
      });
    }
  }
});

Deno.test("readout mlp: a ReLU layer between the final state and the answer", async () => {
  await useWasm();
  const c = parseTaskConfig({ task: "first", length: 2, classes: 2 });
  const m = toyModelConfig(RNN, 2, taskShape(c), undefined, { readout: "mlp", readoutHidden: 3 });
  assert.deepEqual(toyParamShapes(m), {
    "cell/W": [2, 2],
    "cell/U": [2, 2],
    "cell/b": [2],
    "out/W1": [2, 3],
    "out/b1": [3],
    "out/W": [3, 2],
    "out/b": [2],
  });
  // 0 units: as wide as the hidden state.
  const wide = toyModelConfig(RNN, 5, taskShape(c), undefined, {
    readout: "mlp",
    readoutHidden: 0,
  });
  assert.equal(wide.readoutHidden, 5);
  // One step, h = W[x] + b = [1, −2]; r = relu(h·W1 + b1); out = r·V + c.
  const params = {
    "cell/W": tf.tensor2d([[1, -2], [0, 0]]),
    "cell/U": tf.tensor2d([[0, 0], [0, 0]]),
    "cell/b": tf.tensor1d([0, 0]),
    "out/W1": tf.tensor2d([[1, 0, 2], [1, 1, 0]]), // h·W1 = [−1, −2, 2]
    "out/b1": tf.tensor1d([0, 0, 1]), // r = [0, 0, 3]
    "out/W": tf.tensor2d([[1, 1], [1, 1], [1, -1]]),
    "out/b": tf.tensor1d([0.5, 0]),
  };
  const c1 = parseTaskConfig({ task: "first", length: 1, classes: 2 });
  const batch = toBatch(c1, [{ x: Int32Array.of(0), y: Int32Array.of(0) }]);
  assert.deepEqual(toyForward(params, m, batch).arraySync(), [[3.5, -3]]);
});
