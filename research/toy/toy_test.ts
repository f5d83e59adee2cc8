import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, useWasm } from "../../shared/testing.ts";
import { parseFlags } from "../../shared/flags.ts";
import { defaultToyFlags, POSTER_PRESET, TOY_FLAGS } from "./flags.ts";
import { renderReport } from "./report.ts";
import { runToy } from "./run.ts";
import { TASK_KINDS } from "./tasks.ts";
import { toy } from "./toy.ts";

const quiet = async <T>(f: () => Promise<T> | T): Promise<T> => {
  const log = console.log, write = process.stderr.write;
  console.log = () => {};
  process.stderr.write = () => true;
  try {
    return await f();
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
};

Deno.test("toy --dry-run runs every task and writes a JSON result", async () => {
  await useWasm();
  const dir = await tempDir("rotor-toy-");
  for (const task of TASK_KINDS) {
    const out = join(dir, `${task}.json`);
    const [r] = await quiet(() =>
      toy(["--task", task, "--length", "30", "--dry-run", "--backend", "wasm", "--out", out])
    );
    const saved = JSON.parse(await readFile(out, "utf8"));
    assert.equal(saved.task.task, task);
    assert.equal(saved.train.steps, 3);
    assert.equal(saved.heldOut, 16);
    assert.deepEqual(saved.metrics, JSON.parse(JSON.stringify(r!.metrics)));
    assert.match(saved.command, new RegExp(`--task ${task}`));
  }
});

Deno.test("toy --dry-run runs every cell", async () => {
  await useWasm();
  const dir = await tempDir("rotor-toy-");
  for (const cell of ["rnn", "urnn", "gru", "ugru", "lstm", "curnn", "cugru"]) {
    const [r] = await quiet(() =>
      toy(["--cell", cell, "--dry-run", "--backend", "wasm", "--out", join(dir, `${cell}.json`)])
    );
    assert.equal(r!.model.cell, cell);
  }
});

Deno.test("toy --sweep poster --dry-run writes the report, its data and plots", async () => {
  await useWasm();
  const dir = await tempDir("rotor-toy-");
  const args = ["--sweep", "poster", "--cells", "urnn", "--dry-run", "--backend", "wasm"];
  const results = await quiet(() => toy([...args, "--report", dir]));
  assert.equal(results.length, 6);
  const md = await readFile(join(dir, "toy.md"), "utf8");
  assert.match(md, /\| first-term recall, L \| 20 \| 50 \| 100 \|/);
  assert.match(md, /\| uRNN \(poster\) \| 99\.98 \| 100 \| 100 \|/);
  assert.match(md, /\| k-th highest, L \| 100 \| 200 \| 400 \|/);
  assert.match(md, /majority baseline/);
  assert.match(
    md,
    /Command: `deno task toy --sweep poster --cells urnn --dry-run.*\(preset: --cells/,
  );
  assert.match(await readFile(join(dir, "toy-first.svg"), "utf8"), /^<svg/);
  assert.match(await readFile(join(dir, "toy-kth.svg"), "utf8"), /^<svg/);
  const saved = JSON.parse(await readFile(join(dir, "toy-poster.json"), "utf8"));
  assert.equal(saved.results.length, 6);
});

Deno.test("--sweep poster starts from the report's preset, and flags given win", () => {
  const withPreset = (argv: string[]) => parseFlags(TOY_FLAGS, [...POSTER_PRESET, ...argv], "");
  const f = withPreset(["--sweep", "poster", "--steps", "40"]);
  assert.deepEqual(
    [f.cells, f.hidden, f.batch, f.lr, f.lrOrth, f.recurrentInit, f.readout, f.readoutHidden],
    ["rnn,urnn", 128, 256, 0.001, 0.0001, "identity", "mlp", 256],
  );
  assert.equal(f.steps, 40, "the command line's --steps wins over the preset's 1500");
});

Deno.test("toy refuses an unknown task, naming it and the valid ones", async () => {
  await assert.rejects(
    () => toy(["--task", "nope"]),
    /Invalid value "nope" for --task: .*expected one of first, kth, copy, adding/,
  );
});

/** First-term recall at L = 10 with K = 4 symbols (chance 25 %), otherwise the defaults. */
const smallFirst = () => ({
  ...defaultToyFlags(),
  task: "first" as const,
  length: 10,
  classes: 4,
});

Deno.test("runToy() teaches a uRNN first-term recall at L = 10, K = 4 well above chance", async () => {
  await useWasm();
  const f = {
    ...smallFirst(),
    hidden: 32,
    batch: 32,
    steps: 150,
    heldOut: 500,
    logEvery: 50,
  };
  const r = await quiet(() => runToy(f));
  // Chance is 25 %.
  assert.ok(r.metrics.accuracy! > 0.6, `held-out accuracy ${r.metrics.accuracy}`);
  assert.equal(r.curve.length, 3);
  assert.ok(r.curve[2]!.accuracy! > r.curve[0]!.accuracy!);
});

Deno.test("runToy() stops a diverging run and reports it instead of throwing", async () => {
  await useWasm();
  const f = {
    ...smallFirst(),
    cell: "rnn" as const,
    activation: "relu" as const,
    hidden: 8,
    batch: 8,
    steps: 50,
    heldOut: 16,
    evalBatch: 8,
    optimizer: "sgd" as const,
    lr: 1e12,
    clip: 0,
  };
  const r = await quiet(() => runToy(f));
  assert.ok(r.diverged, "expected the run to diverge");
  assert.ok(
    r.diverged.step <= 50 && /NaN|Infinity/.test(r.diverged.loss),
    JSON.stringify(r.diverged),
  );
  const md = renderReport([{
    sweep: "poster",
    command: "deno task toy --sweep poster",
    flags: f,
    totalSeconds: 1,
    results: [{ ...r, task: { ...r.task, length: 20 } }],
  }]);
  assert.match(md, /\| \*\*RNN \(rotor\)\*\* \| diverged \(step \d+\) \|/);
  assert.match(md, /RNN, first-term recall, L = 20: diverged — the training loss became/);
});
