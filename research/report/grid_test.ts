import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../shared/testing.ts";
import { quiet, writeSmallCorpus } from "../../trainer/testing.ts";
import { FULL_BUDGET, gridTrainArgs, seedRows } from "./grid_rows.ts";
import {
  divergenceMessage,
  gradSeries,
  type GridRunResult,
  GridRunResultSchema,
  readRunResult,
  thin,
} from "./grid_results.ts";
import { compare, gridComplete } from "./grid_verdict.ts";
import { GRID_PLOT_FILES } from "./grid_grad_render.ts";
import { gridPtb, planRuns, twinBaseOf } from "./grid_run.ts";
import { reportPtb } from "./ptb.ts";
import { readResults, writeResults } from "./ptb_results.ts";
import { renderMarkdown } from "./ptb_markdown.ts";
import { renderPlots } from "./ptb_plots.ts";
import { fixtureResults } from "./testing.ts";

function result(id: string, testPpl: number, status: GridRunResult["status"] = "done") {
  const r = [...seedRows(1), ...seedRows(2)].find((x) => x.id === id)!;
  return {
    ...r,
    status,
    command: "",
    started: "",
    machine: "",
    steps: 10,
    tokens: 100,
    wallSeconds: 1,
    tokensPerSecond: 1,
    ...(status === "done" ? { testPpl, validPpl: testPpl + 5 } : {}),
    history: [],
    grad: [],
  } satisfies GridRunResult;
}

const poster = { u: { valid: 0, test: 100 }, p: { valid: 0, test: 110 } };

Deno.test("seedRows() names each run once and gridTrainArgs() passes the one budget", () => {
  const rows = seedRows(1);
  assert.equal(rows.length, 13);
  assert.equal(new Set(rows.map((r) => r.id)).size, 13);
  const abs = rows.find((r) => r.id === "urnn-abs-reset-bptt35-s1")!;
  const args = gridTrainArgs(abs, FULL_BUDGET).join(" ");
  assert.match(args, /--cell urnn --activation abs --hidden 256 --batch 20 --bptt 35 --epochs 3/);
  assert.match(args, /--state-reset window --seed 1/);
  assert.ok(!args.includes("--tie"));
  assert.equal(twinBaseOf("urnn-abs-reset-bptt35"), "rnn-abs-reset-bptt35");
  assert.equal(twinBaseOf("gru-bptt150"), "ugru-bptt150");
});

Deno.test("planRuns() adds seed 2 only for pairs within 5 %, and refuses unknown ids", () => {
  const done = [
    result("ugru-bptt35-s1", 100),
    result("gru-bptt35-s1", 103),
    result("urnn-relu-bptt35-s1", 100),
    result("rnn-relu-bptt35-s1", 120),
  ];
  const extra = planRuns({ rows: "", seeds: "auto" }, done).filter((r) => r.seed === 2);
  assert.deepEqual(extra.map((r) => r.id).sort(), ["gru-bptt35-s2", "ugru-bptt35-s2"]);
  assert.throws(() => planRuns({ rows: "nope-s1", seeds: "auto" }, done), /Unknown run "nope-s1"/);
});

Deno.test("compare() calls a comparison only where the seeds settle it", () => {
  const u = "ugru-bptt35", p = "gru-bptt35";
  assert.equal(compare([], u, p, poster).kind, "pending");
  const far = [result(`${u}-s1`, 90), result(`${p}-s1`, 100)];
  assert.deepEqual(compare(far, u, p, poster), { kind: "agrees", seeds: 1, uBeats: true });
  const close = [result(`${u}-s1`, 100), result(`${p}-s1`, 102)];
  assert.equal(compare(close, u, p, poster).kind, "unresolved");
  const settled = [...close, result(`${u}-s2`, 104), result(`${p}-s2`, 106)];
  assert.deepEqual(compare(settled, u, p, poster), { kind: "agrees", seeds: 2, uBeats: true });
  const split = [...close, result(`${u}-s2`, 107), result(`${p}-s2`, 106)];
  assert.equal(compare(split, u, p, poster).kind, "unresolved");
  const lost = [result(`${u}-s1`, 120), result(`${p}-s1`, 100)];
  assert.equal(compare(lost, u, p, poster).kind, "disagrees");
  const blown = [result(`${u}-s1`, 0, "diverged"), result(`${p}-s1`, 100)];
  assert.deepEqual(compare(blown, u, p, poster), { kind: "diverged", ids: [`${u}-s1`] });
});

Deno.test("gradSeries() reads the norms of batch lines; divergenceMessage() the trainer's", () => {
  const lines = [
    {
      type: "batch",
      step: 20,
      grad_norm_mean: 1,
      grad_norm_max: 2,
      grad_norm_embedding: 0.1,
      grad_norm_input: 0.2,
      loss: 5.5,
    },
    { type: "epoch", epoch: 1 },
    { type: "batch", step: 40, loss: 5 },
  ].map((l) => JSON.stringify(l)).join("\n");
  assert.deepEqual(gradSeries(lines), [{
    step: 20,
    mean: 1,
    max: 2,
    embedding: 0.1,
    input: 0.2,
    loss: 5.5,
  }]);
  assert.deepEqual(thin([1, 2, 3, 4, 5, 6, 7], 3), [1, 4, 7]);
  const log = "epoch 1/3 | step 5\nerror: Loss became NaN at step 6 (epoch 1); stopping. x\n";
  assert.equal(divergenceMessage(log), "Loss became NaN at step 6 (epoch 1); stopping. x");
  assert.equal(divergenceMessage("all fine"), undefined);
});

Deno.test("gridPtb() --dry-run trains runs in child processes and report:ptb draws them", async () => {
  const data = await writeSmallCorpus();
  const runs = await tempDir(), out = await tempDir();
  const results = join(out, "ptb-results.json");
  await writeResults(results, fixtureResults());
  await quiet(() =>
    gridPtb([
      ...["--dry-run", "--hidden", "4", "--jobs", "2", "--data", data, "--skip-md5"],
      ...["--runs", runs, "--results", results],
      ...["--rows", "ugru-bptt35-s1,urnn-abs-reset-bptt35-s1"],
    ])
  );
  const res = await readResults(results);
  assert.deepEqual(res.grid!.runs.map((r) => [r.id, r.status]), [
    ["ugru-bptt35-s1", "done"],
    ["urnn-abs-reset-bptt35-s1", "done"],
  ]);
  assert.ok(!res.grid!.command.includes(data), "the grid command names no machine path");
  for (const r of res.grid!.runs) {
    assert.ok(r.testPpl! > 1 && r.testPpl! < 200, `${r.id}: ${r.testPpl}`);
    assert.ok(r.grad.length > 0 && r.grad.every((p) => p.embedding > 0 && p.input > 0));
    assert.ok(r.grad.every((p) => p.loss! > 0), "the loss is kept beside the norms");
    assert.ok(!r.command.includes(data), "the recorded command names no machine path");
    assert.equal(r.gradflow?.norms.length, 11, "gradient flow k = 0…10 measured after training");
  }
  // --refresh re-reads the finished runs from their folders and changes nothing else.
  await quiet(() =>
    gridPtb([
      "--refresh",
      "--dry-run",
      "--data",
      data,
      "--skip-md5",
      "--runs",
      runs,
      "--results",
      results,
    ])
  );
  const again = await readResults(results);
  assert.deepEqual(
    again.grid!.runs.map((r) => r.grad.length),
    res.grid!.runs.map((r) => r.grad.length),
  );
  await quiet(() => reportPtb(["--from", out, "--out", out, "--models", join(out, "none")]));
  const md = await readFile(join(out, "ptb.md"), "utf8");
  assert.match(md, /## Full-budget grid/);
  assert.match(md, /### Gradient flow of the trained runs/);
  assert.match(md, /- urnn-abs-reset-bptt35-s1: trained to the end, valid \d+\.\d\d/);
  assert.match(md, /\| uRNN \\\|x\\\|, state reset \| 1 \| \d+\.\d\d \| \d+\.\d\d \|/);
  assert.match(md, /\| GRU BPTT 35 \| 1 \| – \| – \| – \| – \| – \| not started \|/);
  for (const f of Object.values(GRID_PLOT_FILES)) {
    assert.match(await readFile(join(out, f), "utf8"), /^<svg/);
  }
});

Deno.test("readRunResult() keeps an epoch whose mean loss overflowed, as null", async () => {
  const dir = await tempDir();
  await Deno.mkdir(join(dir, "model"));
  // JSON writes Infinity as null: the trainer's record of an epoch whose loss overflowed.
  const history = [
    { epoch: 1, trainPpl: 300, validPpl: 216.35, seconds: 9, lr: 0.002 },
    { epoch: 2, trainPpl: null, validPpl: null, seconds: 9, lr: 0.002 },
  ];
  await Deno.writeTextFile(
    join(dir, "model", "model.json"),
    JSON.stringify({
      provenance: { history, wall_seconds: 9 },
      metrics: { steps: 3, tokens: 2100, tokens_per_s: 1, valid_ppl: 200, test_ppl: 190 },
    }),
  );
  await Deno.writeTextFile(join(dir, "metrics.jsonl"), "");
  const run = seedRows(1).find((r) => r.id === "rnn-abs-bptt35-s1")!;
  const r = await readRunResult(run, dir, { command: "", started: "", machine: "" });
  const parsed = GridRunResultSchema.parse(JSON.parse(JSON.stringify(r)));
  assert.equal(parsed.history[1]!.trainPpl, null);
  assert.equal(parsed.testPpl, 190);
  assert.equal(parsed.bestEpoch, 1, "an epoch without a finite validation figure is never best");
});

Deno.test("gridComplete() waits for every seed-1 row and each close pair's seed 2; the report then drops the pilot", async () => {
  // Every seed-1 row 10 % apart from its twin, except the BPTT-35 GRU pair (2 % apart).
  const ppl = (id: string) => id.startsWith("ugru-bptt35") ? 102 : id.startsWith("u") ? 110 : 100;
  const seed1 = seedRows(1).map((r) => result(r.id, ppl(r.id)));
  const grid = (runs: GridRunResult[]) => ({
    budget: { epochs: 3, hidden: 8, batch: 2, lr: 0.002, dropout: 0, clip: 1, tie: false },
    command: "deno task grid:ptb --jobs 2",
    runs,
  });
  assert.equal(gridComplete(grid(seed1.slice(1))), false, "a seed-1 row missing");
  assert.equal(gridComplete(grid(seed1)), false, "the close pair's seed 2 missing");
  const running = result("gru-bptt35-s2", 0, "running");
  assert.equal(gridComplete(grid([...seed1, result("ugru-bptt35-s2", 99), running])), false);
  const all = [...seed1, result("ugru-bptt35-s2", 99), result("gru-bptt35-s2", 101)];
  assert.equal(gridComplete(grid(all)), true);

  const partial = renderMarkdown({ ...fixtureResults(), grid: grid(seed1) });
  assert.match(partial, /# Pilot: every row at 105,000 training tokens/);
  const res = { ...fixtureResults(), grid: grid(all) };
  const md = renderMarkdown(res);
  assert.doesNotMatch(md, /# Pilot/);
  assert.doesNotMatch(md, /## 1\. Activation table/);
  assert.match(md, /## Cost of the orthogonal step: time per batch/);
  assert.match(md, /## Sampled sentences from the shipped models/);
  assert.match(md, /their tables were dropped once every grid row was trained/);
  assert.match(
    md,
    /carried → reset: uRNN 110\.00 → 110\.00, RNN 100\.00 → 100\.00\. The reset does not change/,
  );
  assert.match(md, /BPTT 35: .*rotor: \*\*unresolved\*\* \(the two seeds disagree/);
  const plots = Object.keys(await renderPlots(res));
  assert.ok(plots.every((n) => n.startsWith("ptb-grid-")), plots.join(", "));
});
