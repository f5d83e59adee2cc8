import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ptbTokens } from "../shared/ptb.ts";
import { writeSmallCorpus } from "../trainer/testing.ts";
import { findTorchPython, plan, QUICK, resolveSettings } from "./bench.ts";
import { parseResult, TorchRefSchema } from "./results.ts";

Deno.test("resolveSettings() --quick shrinks what was not given explicitly", () => {
  const full = resolveSettings([]);
  assert.deepEqual([full.reps, full.hidden, full.vocab, full.out], [
    5,
    256,
    10000,
    "reports/bench",
  ]);
  assert.deepEqual(full.bpttList, [35, 150]);
  assert.deepEqual(full.phases, ["train", "serve", "torch", "fuzz"]);
  const quick = resolveSettings(["--quick", "--hidden", "64", "--out=/tmp/x"]);
  assert.deepEqual(
    [quick.reps, quick.hidden, quick.vocab, quick.tokens, quick.scoreLines, quick.out],
    [QUICK.reps, 64, QUICK.vocab, QUICK.tokens, QUICK.scoreLines, "/tmp/x"],
  );
});

Deno.test("resolveSettings() refuses bad flags and list items, naming the value", () => {
  assert.throws(() => resolveSettings(["--phases", "train,gpu"]), /Invalid item "gpu" in --phases/);
  assert.throws(() => resolveSettings(["--cells", "rnn,tcn"]), /"tcn" in --cells.*lstm/);
  assert.throws(() => resolveSettings(["--bptt", "35,x"]), /Invalid item "x" in --bptt/);
  assert.throws(
    () => resolveSettings(["--workers", "3"]),
    /--batch 20 must be a multiple of workers 3/,
  );
  assert.throws(() => resolveSettings(["--reps", "0"]), /Invalid value "0" for --reps/);
  assert.throws(() => resolveSettings(["--fast"]), /Unknown option '--fast'.*--quick/);
});

Deno.test("plan() runs each phase once with the same sizes, PyTorch only where found", () => {
  const s = resolveSettings(["--quick", "--data", "/ptb", "--workers", "2"]);
  const json = (label: string) => `/tmp/${label}.json`;
  const steps = plan(s, "/usr/bin/python3", json);
  assert.deepEqual(steps.map((st) => st.label), [
    "bench:train",
    "bench:train@2",
    "bench:serve",
    "fuzz:serve",
    "torch_ref",
  ]);
  const [train, threaded, serve, fuzz, torch] = steps;
  assert.ok(
    fuzz!.args.join(" ").includes("bench/fuzz_serve.ts --data /ptb --hidden 32 --cases 260"),
  );
  const sizes = ["--reps", "1", "--batch", "20", "--hidden", "32", "--vocab", "1000"];
  assert.deepEqual(train!.args.slice(2), [
    ...["bench/bench_train.ts", "--cells", "rnn,urnn,gru,ugru", "--bptt", "35,150"],
    ...["--workers", "2", "--threads", "1", ...sizes, "--json", "/tmp/bench:train.json"],
  ]);
  // More threads: one process only (a worker runs one thread of its own).
  assert.deepEqual(threaded!.args.slice(2), [
    ...["bench/bench_train.ts", "--cells", "rnn,urnn,gru,ugru", "--bptt", "35,150"],
    ...["--workers", "1", "--threads", "2", ...sizes, "--json", "/tmp/bench:train@2.json"],
  ]);
  const oneThread = plan(resolveSettings(["--threads", "1"]), undefined, json);
  assert.deepEqual(oneThread.map((st) => st.label), ["bench:train", "bench:serve", "fuzz:serve"]);
  assert.throws(() => resolveSettings(["--threads", "1,0"]), /Invalid item "0" in --threads/);
  assert.ok(
    serve!.args.join(" ").includes(
      "--streams 8,32 --tokens 30 --score-lines 200 --data /ptb --hidden 32",
    ),
  );
  assert.equal(torch!.cmd, "/usr/bin/python3");
  assert.equal(torch!.json, undefined); // its JSON comes on stdout
  assert.ok(
    torch!.args.join(" ").includes("--what matmul,train,generate,score --reps 1 --data /ptb"),
  );
  assert.ok(torch!.args.join(" ").includes("--hidden 32 --vocab 1000 --tokens 30 --streams 8,32"));
  assert.deepEqual(plan(s, undefined, json).map((st) => st.label), [
    "bench:train",
    "bench:train@2",
    "bench:serve",
    "fuzz:serve",
  ]);
  const serveOnly = plan(resolveSettings(["--phases", "serve,torch"]), "python3", json);
  assert.deepEqual(serveOnly.map((st) => st.label), ["bench:serve", "torch_ref"]);
  assert.ok(serveOnly[1]!.args.join(" ").includes("--what generate,score "));
});

Deno.test("findTorchPython() says what it tried when no Python imports torch", async () => {
  const r = await findTorchPython("/no/such/python3");
  assert.equal(r.python, undefined);
  assert.match(r.why!, /PyTorch not found: none of "\/no\/such\/python3" imports torch/);
});

Deno.test("torch_ref.py prints JSON the suite reads, scoring the tokens rotor scores", async () => {
  const { python } = await findTorchPython("auto");
  if (!python) return void console.warn("\n*** SKIPPED: no Python with torch ***\n");
  const data = await writeSmallCorpus(3);
  const out = await new Deno.Command(python, {
    args: [
      "bench/torch_ref.py",
      ...["--reps", "1", "--threads", "1", "--cells", "rnn,ugru", "--bptt", "5", "--batch", "4"],
      ...["--hidden", "8", "--vocab", "50", "--tokens", "3", "--streams", "2", "--data", data],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  const r = parseResult(TorchRefSchema, new TextDecoder().decode(out.stdout), "torch_ref");
  assert.deepEqual(r.train!.rows.map((x) => [x.cell, x.bptt]), [["rnn", 5], ["ugru", 5]]);
  assert.deepEqual(r.generate!.streams.map((x) => [x.n, x.tokens]), [[2, 6]]);
  assert.equal(r.generate!.single.tokens, 9);
  const test = await readFile(join(data, "ptb.test.txt"), "utf8");
  assert.equal(r.score!.tokens, ptbTokens(test).length);
  assert.ok(r.score!.perplexity > 1);

  const bad = await new Deno.Command(python, {
    args: ["bench/torch_ref.py", "--what", "train,fly"],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(bad.code, 2);
  assert.match(
    new TextDecoder().decode(bad.stderr),
    /unknown "fly" in "train,fly"; expected some of/,
  );
});
