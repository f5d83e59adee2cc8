import assert from "node:assert/strict";
import type { ContextResult } from "./context_results.ts";
import { contextSection, counterpartId } from "./ptb_context.ts";

function result(name: string, shuffle: number | null, replace: number | null): ContextResult {
  const p = (e: number | null) => ({ effectiveContext: e, rows: [] });
  return {
    version: 1,
    command: "",
    date: "",
    machine: "",
    backend: "",
    runtime: "",
    model: { dir: "", name, cell: "", activation: "", hiddenSize: 8, layers: 1, testPpl: null },
    data: { source: "", split: "test", md5: null, tokens: 0 },
    settings: { targets: 1, history: 1, distances: [1], seed: 1, block: 1, threshold: 0.01 },
    result: {
      targets: 1,
      loss: 1,
      perplexity: 1,
      windows: 1,
      perturbations: { shuffle: p(shuffle), replace: p(replace) },
    },
    timing: { seconds: 1, tokensPerSecond: 1 },
  };
}

Deno.test("counterpartId() pairs each orthogonal run with its unconstrained one", () => {
  assert.equal(counterpartId("urnn-abs-reset-bptt35-s1"), "rnn-abs-reset-bptt35-s1");
  assert.equal(counterpartId("ugru-bptt150-s2"), "gru-bptt150-s2");
  assert.equal(counterpartId("gru-bptt35-s1"), undefined);
});

Deno.test("contextSection() compares measured pairs and names the runs not measured", () => {
  const md = contextSection([
    result("ugru-bptt35-s1", 10, 30),
    result("gru-bptt35-s1", 20, 50),
    result("urnn-relu-bptt35-s1", null, 10),
    result("rnn-relu-bptt35-s1", 10, 10),
    result("lstm-bptt35-s1", 20, 30),
  ], [
    "ugru-bptt35-s1",
    "gru-bptt35-s1",
    "urnn-relu-bptt35-s1",
    "rnn-relu-bptt35-s1",
    "lstm-bptt35-s1",
    "gru-bptt35-s2",
  ]).join("\n");
  assert.match(
    md,
    /\| ugru-bptt35-s1 vs gru-bptt35-s1 \| 10 \/ 30 \| 20 \/ 50 \| unconstrained \|/,
  );
  assert.match(
    md,
    /\| urnn-relu-bptt35-s1 vs rnn-relu-bptt35-s1 \| > all \/ 10 \| 10 \/ 10 \| orthogonal \|/,
  );
  assert.match(md, /orthogonal cell looks farther in 1, the unconstrained one in 1, neither in 0/);
  assert.match(
    md,
    /Reference, an LSTM trained by the same rule \(shuffle \/ replace\): lstm-bptt35-s1 20 \/ 30\./,
  );
  assert.match(md, /Not measured: gru-bptt35-s2 \(/);
});
