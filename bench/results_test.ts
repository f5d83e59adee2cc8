import assert from "node:assert/strict";
import { parseResult, TorchRefSchema, TrainBenchSchema } from "./results.ts";

const torchDoc = {
  tool: "torch_ref",
  torch: "1.13.1",
  python: "3.11.2",
  threads: 2,
  train: {
    batch: 20,
    hidden: 256,
    vocab: 10000,
    reps: 1,
    rows: [{ cell: "gru", bptt: 35, stepMs: 300, tokensPerS: 2333.3, stepSamples: [300] }],
  },
};

Deno.test("parseResult() reads the PyTorch reference's JSON; measurements it skipped stay absent", () => {
  const r = parseResult(TorchRefSchema, JSON.stringify(torchDoc), "torch_ref");
  assert.equal(r.train!.rows[0]!.tokensPerS, 2333.3);
  assert.equal(r.generate, undefined);
  assert.equal(r.score, undefined);
});

Deno.test("parseResult() names the producer and the first bad field", () => {
  const bad = structuredClone(torchDoc) as Record<string, unknown>;
  (bad.train as { rows: Record<string, unknown>[] }).rows[0]!.tokensPerS = "fast";
  assert.throws(
    () => parseResult(TorchRefSchema, JSON.stringify(bad), "torch_ref"),
    /^Error: torch_ref output at "train\.rows\.0\.tokensPerS": .*expected number/,
  );
  assert.throws(
    () => parseResult(TorchRefSchema, JSON.stringify({ ...torchDoc, threads: -1 }), "torch_ref"),
    /torch_ref output at "threads"/,
  );
  assert.throws(
    () => parseResult(TrainBenchSchema, JSON.stringify(torchDoc), "bench:train"),
    /bench:train output at "tool"/,
  );
});

Deno.test("parseResult() refuses output that is not JSON, quoting its start", () => {
  // Python's json.dump writes NaN for a failed measurement; JSON has no NaN.
  assert.throws(
    () => parseResult(TorchRefSchema, '{"threads": NaN}', "torch_ref"),
    /torch_ref printed no JSON document \(.*\): "\{"threads": NaN\}"/,
  );
  assert.throws(
    () => parseResult(TorchRefSchema, "", "torch_ref"),
    /torch_ref printed no JSON document/,
  );
});
