import assert from "node:assert/strict";
import { benchRows, judge, markdownTable, type Row } from "./table.ts";
import { serve, torch, train } from "./testing.ts";

const byFigure = (rows: Row[], start: string) => {
  const r = rows.find((x) => x.figure.startsWith(start));
  assert.ok(r, `no row "${start}" in ${rows.map((x) => x.figure).join("; ")}`);
  return r;
};

Deno.test("judge() checks a value against its bounds, and judges nothing without a value", () => {
  assert.equal(judge(0.5, { min: 0.5 }), "yes");
  assert.equal(judge(0.49, { min: 0.5 }), "MISS");
  assert.equal(judge(1.05, { max: 1.05 }), "yes");
  assert.equal(judge(201, { max: 200 }), "MISS");
  assert.equal(judge(undefined, { min: 1 }), "—");
  assert.equal(judge(NaN, { min: 1 }), "—");
});

Deno.test("benchRows() judges training against PyTorch where rotor uses every worker", () => {
  const rows = benchRows({ train: train(), torch: torch() });
  assert.deepEqual(byFigure(rows, "train rnn, T = 35, 1 process"), {
    figure: "train rnn, T = 35, 1 process: tokens/s",
    rotor: "1,000",
    torch: "2,000",
    ratio: "0.50× PyTorch",
    target: "—",
    met: "—",
  });
  assert.deepEqual(byFigure(rows, "train rnn, T = 35, --workers 2"), {
    figure: "train rnn, T = 35, --workers 2: tokens/s",
    rotor: "2,000",
    torch: "2,000",
    ratio: "1.00× PyTorch",
    target: "≥ 0.5× PyTorch",
    met: "yes",
  });
  const roof = byFigure(rows, "roofline");
  assert.equal(roof.figure, "roofline: matMul [700×256]·[256×10000], GFLOPS");
  assert.equal(roof.rotor, "17.9 (wasm, 1 thread)");
  assert.equal(roof.torch, "71.7 (2 threads)");
  assert.equal(roof.ratio, "0.25× PyTorch");
});

Deno.test("benchRows() judges the orthogonal step by its paired per-round overhead", () => {
  const rows = benchRows({ train: train(), torch: torch() });
  assert.deepEqual(byFigure(rows, "orthogonal step: urnn vs rnn, T = 35, 1 process"), {
    figure: "orthogonal step: urnn vs rnn, T = 35, 1 process",
    rotor: "+4.0 % (2.0 … 10.0)",
    torch: "+10.0 %",
    ratio: "1.040× rnn",
    target: "≤ 1.05× (+5 %)",
    met: "yes",
  });
  const slow = train();
  slow.runs[0]!.cells[1]!.stepSamples = [770, 770, 770];
  const row = byFigure(benchRows({ train: slow }), "orthogonal step: urnn vs rnn, T = 35, 1");
  assert.equal(row.ratio, "1.100× rnn");
  assert.equal(row.met, "MISS");
});

Deno.test("benchRows() judges serving: PyTorch eager, 32 streams over one, scoring, RSS", () => {
  const rows = benchRows({ serve: serve(), torch: torch() });
  assert.deepEqual(byFigure(rows, "generation, single stream").ratio, "2.00× PyTorch");
  assert.equal(byFigure(rows, "generation, single stream").met, "yes");
  assert.deepEqual(byFigure(rows, "generation, 8 streams"), {
    figure: "generation, 8 streams: aggregate tokens/s",
    rotor: "1,400",
    torch: "—",
    ratio: "2.00× single-stream",
    target: "—",
    met: "—",
  });
  const agg = byFigure(rows, "generation, 32 streams");
  assert.deepEqual([agg.torch, agg.ratio, agg.met], ["3,000", "4.00× single-stream", "yes"]);
  const score = byFigure(rows, "scoring the PTB test set (82,430 tokens)");
  assert.deepEqual([score.ratio, score.met], ["0.50× PyTorch", "MISS"]);
  assert.deepEqual(byFigure(rows, "server peak RSS under the 32-stream load").met, "MISS");
  assert.deepEqual(byFigure(rows, "server peak RSS under the 8-stream load").target, "—");
  assert.equal(byFigure(rows, "process start → first streamed token").rotor, "1,020");
  const during = byFigure(rows, "one stream while the test set is scored");
  assert.deepEqual([during.rotor, during.ratio], ["350 (42 ms)", "0.50× single-stream"]);
  assert.equal(rows.some((r) => r.figure.includes("mixed short requests")), false, "not measured");
  for (const [growthMB, met] of [[-3.5, "yes"], [12, "MISS"]] as const) {
    const withRequests = {
      ...serve(),
      requests: { n: 10000, seconds: 60, rssMB: [190, 202], growthMB },
    };
    const req = byFigure(
      benchRows({ serve: withRequests }),
      "server RSS across 10,000 mixed short",
    );
    assert.deepEqual([req.rotor, req.met], ["190 → 202", met]);
  }
});

Deno.test("benchRows() without PyTorch shows rotor's figures and judges none against it", () => {
  const rows = benchRows({ train: train(), serve: serve() });
  const t = byFigure(rows, "train rnn, T = 35, --workers 2");
  assert.deepEqual([t.torch, t.ratio, t.met], ["—", "—", "no PyTorch"]);
  assert.equal(byFigure(rows, "train rnn, T = 35, 1 process").met, "—");
  assert.equal(byFigure(rows, "generation, single stream").met, "no PyTorch");
  assert.equal(byFigure(rows, "generation, 32 streams").met, "yes"); // rotor against itself
  assert.equal(byFigure(rows, "orthogonal step: urnn vs rnn, T = 35, 1").met, "yes");
});

Deno.test("benchRows() divides nothing measured at other sizes or on other texts", () => {
  const t = torch();
  t.train!.hidden = 128;
  t.generate!.vocab = 500;
  t.score!.tokens = 100;
  const rows = benchRows({ train: train(), serve: serve(), torch: t });
  const tr = byFigure(rows, "train rnn, T = 35, --workers 2");
  assert.deepEqual([tr.ratio, tr.met], ["sizes differ (hidden 256 vs 128)", "—"]);
  assert.equal(
    byFigure(rows, "generation, single stream").ratio,
    "sizes differ (vocab 10000 vs 500)",
  );
  assert.equal(byFigure(rows, "scoring").ratio, "texts differ (82430 vs 100 tokens)");
});

Deno.test("markdownTable() pads every column to its widest cell", () => {
  assert.equal(
    markdownTable(["a", "bb"], [["xyz", "1"]]),
    "| a   | bb |\n| --- | -- |\n| xyz | 1  |",
  );
});

Deno.test("benchRows() judges one process on two threads beside --workers 2, both using 2 cores", () => {
  const threaded = { ...train(), threads: 2, roofline: { ...train().roofline, gflops: 30 } };
  threaded.runs = threaded.runs.filter((r) => r.workers === 1);
  const rows = benchRows({ train: train(), trainThreaded: [threaded], torch: torch() });
  assert.equal(byFigure(rows, "train rnn, T = 35, 1 process:").target, "—");
  assert.equal(byFigure(rows, "train rnn, T = 35, --workers 2").met, "yes");
  const t = byFigure(rows, "train rnn, T = 35, 1 process, 2 threads");
  assert.equal(t.target, "≥ 0.5× PyTorch");
  assert.equal(t.met, "yes");
  assert.ok(rows.some((r) => r.rotor === "30.0 (wasm, 2 threads)"), "the threaded roofline");
  assert.ok(byFigure(rows, "orthogonal step: urnn vs rnn, T = 35, 1 process, 2 threads"));
});
