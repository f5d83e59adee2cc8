import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../shared/testing.ts";
import { reportPtb } from "./ptb.ts";
import { PLOT_FILES } from "./ptb_plots.ts";
import { readResults, writeResults } from "./ptb_results.ts";
import { GRID } from "./ptb_grid.ts";
import { quiet, writeSmallCorpus } from "../../trainer/testing.ts";
import { fixtureResults } from "./testing.ts";

Deno.test("reportPtb() redraws ptb.md and every plot from saved results", async () => {
  const out = await tempDir();
  await writeResults(join(out, "ptb-results.json"), fixtureResults());
  const missing = join(out, "no-such-model");
  await quiet(() => reportPtb(["--from", out, "--out", out, "--models", missing]));
  const md = await readFile(join(out, "ptb.md"), "utf8");
  assert.ok(md.includes("| RNN | ReLU | 610.00 | 600.00 | 754.65 | 705.28 |"));
  assert.ok(md.includes(`- \`${missing}\`: **not shipped yet**`));
  for (const f of Object.values(PLOT_FILES)) {
    const svg = await readFile(join(out, f), "utf8");
    assert.match(svg, /^<svg/);
  }
  assert.ok(existsSync(join(out, "ptb-results.json")));
});

Deno.test("reportPtb() without saved results says how to make them", async () => {
  const out = await tempDir();
  await assert.rejects(
    () => reportPtb(["--from", out, "--out", out]),
    /Cannot read results ".*ptb-results\.json": .*; make them with --rerun/,
  );
});

Deno.test("reportPtb() refuses a bad flag value and names it", async () => {
  await assert.rejects(
    () => reportPtb(["--backend", "gpu"]),
    /Invalid value "gpu" for --backend: .*expected one of auto, wasm, cpu, tensorflow/,
  );
});

Deno.test("reportPtb() --rerun --dry-run trains, times and measures every row", async () => {
  const data = await writeSmallCorpus();
  const runs = await tempDir(), out = await tempDir();
  await quiet(() =>
    reportPtb([
      "--rerun",
      "--dry-run",
      "--hidden",
      "4",
      "--data",
      data,
      "--skip-md5",
      "--runs",
      runs,
      "--out",
      out,
      "--models",
      join(out, "none"),
    ])
  );
  const res = await readResults(join(out, "ptb-results.json"));
  assert.deepEqual(res.rows.map((r) => r.id), GRID.map((r) => r.id));
  for (const r of res.rows) assert.ok(r.testPpl > 1 && r.testPpl < 100, `${r.id}: ${r.testPpl}`);
  assert.equal(res.gradflow.series.filter((s) => s.stage === "init").length, 8);
  assert.equal(res.gradflow.series.filter((s) => s.stage === "trained").length, 10);
  assert.deepEqual(res.timing.cells.map((c) => c.label), ["rnn relu", "urnn relu", "gru", "ugru"]);
  assert.ok((await readFile(join(out, "ptb.md"), "utf8")).startsWith("# Penn Treebank"));
});
