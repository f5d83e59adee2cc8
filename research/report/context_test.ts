import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, useWasm } from "../../shared/testing.ts";
import { quiet, smallRunArgs, writeSmallCorpus } from "../../trainer/testing.ts";
import { train } from "../../trainer/train.ts";
import { context, inModelVocab, joinPlotArgs, modelName } from "./context.ts";
import { makeVocab } from "../../shared/vocab.ts";
import { readContextResult } from "./context_results.ts";

Deno.test("context --dry-run measures a trained model, and --plot draws and tabulates it", async () => {
  await useWasm();
  const data = await writeSmallCorpus(3);
  const runs = await tempDir(), out = await tempDir();
  await quiet(() => train([...smallRunArgs(data, runs, "ctx"), "--max-steps", "30"]));
  const model = join(runs, "ctx", "model");
  const json = join(out, "ctx.json");
  const args = ["--model", model, "--data", data, "--skip-md5", "--backend", "wasm"];
  const r = await quiet(() =>
    context([...args, "--dry-run", "--distances", "30,1,2,5,24", "--out", json, "--block", "5"])
  );
  const saved = await readContextResult(json);
  assert.deepEqual(saved, JSON.parse(JSON.stringify(r)));
  assert.equal(saved.settings.history, 24);
  assert.deepEqual(saved.settings.distances, [1, 2, 5, 24, 30]);
  assert.equal(saved.result.targets, 6);
  assert.equal(saved.result.windows, 6 * 11);
  assert.equal(saved.data.md5, null);
  assert.ok(saved.command.startsWith(`deno task context --model ${model} `));
  assert.ok(saved.result.loss > 0 && saved.result.loss < Math.log(100), `${saved.result.loss}`);
  for (const kind of ["shuffle", "replace"] as const) {
    const p = saved.result.perturbations[kind];
    assert.deepEqual(p.rows.map((x) => x.d), [1, 2, 5, 24, 30]);
    // Nothing lies farther than d ≥ L from the target: the same windows, the same losses.
    assert.deepEqual(p.rows.slice(3).map((x) => x.increase), [0, 0], kind);
    assert.ok(p.effectiveContext !== null && p.effectiveContext <= 24, kind);
  }

  const svg = join(out, "plot.svg"), md = join(out, "context.md");
  await quiet(() => context(["--plot", json, json, "--svg", svg, "--md", md]));
  assert.match(await readFile(svg, "utf8"), /^<svg/);
  const text = await readFile(md, "utf8");
  assert.ok(text.includes(`Written by \`deno task context --plot ${json} ${json} --svg`));
  assert.match(
    text,
    /\n\| ctx \| ugru tanh, H = 8 \| \d+\.\d\d \| 6 \| 24 \| \d\.\d{3} \| \d+ \| \d+ \|\n/,
  );
  assert.ok(text.includes("![loss increase by distance](plot.svg)"));
});

Deno.test("context refuses a missing model, bad distances and an impossible budget", async () => {
  await assert.rejects(() => context([]), /--model is required/);
  await assert.rejects(
    () => context(["--model", "m", "--distances", "1,x"]),
    /Invalid item "x" in --distances "1,x"/,
  );
  await assert.rejects(
    () => context(["--model", "m", "--targets", "1000000"]),
    /1000000 targets × 14 distances make 29000000 windows; at most 2000000/,
  );
  await assert.rejects(() => context(["--plot", ""]), /names no result file/);
});

Deno.test("modelName() names a trainer's runs/<name>/model folder by its run", () => {
  assert.equal(modelName("models/ptb-ugru/"), "ptb-ugru");
  assert.equal(modelName("runs/ptb-report/gru-bptt35/model"), "gru-bptt35");
  assert.equal(modelName("model"), "model");
});

Deno.test("inModelVocab() re-encodes a stream through words when the vocabularies differ", () => {
  const corpus = makeVocab(["<unk>", "<eos>", "a", "b", "c"]);
  const ids = Int32Array.from([2, 3, 4, 1]);
  assert.equal(inModelVocab(ids, corpus, makeVocab([...corpus.words])), ids, "the same stream");
  const model = makeVocab(["c", "<eos>", "a", "<unk>"]);
  assert.deepEqual(Array.from(inModelVocab(ids, corpus, model)), [2, 3, 0, 1]);
});

Deno.test("joinPlotArgs() gathers the files a shell glob puts after --plot", () => {
  assert.deepEqual(joinPlotArgs(["--plot", "a.json", "b.json", "--md", "x.md"]), [
    "--plot",
    "a.json,b.json",
    "--md",
    "x.md",
  ]);
  assert.deepEqual(joinPlotArgs(["--model", "m"]), ["--model", "m"]);
});
