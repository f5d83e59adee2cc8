import assert from "node:assert/strict";
import { type Meta, renderReport } from "./report.ts";
import { benchRows } from "./table.ts";
import { serve, torch, train } from "./testing.ts";

const meta = (quick: boolean): Meta => ({
  command: "deno task bench",
  date: "2026-11-25T23:00:00.000Z",
  machine: { nproc: 2, cpu: "AMD EPYC", memoryGiB: 24, deno: "2.9.6", commit: "abc1234" },
  load: [0.52, 2.1],
  quick,
  settings: {},
  commands: ["deno run -A bench/bench_train.ts", "python3 bench/torch_ref.py"],
});

Deno.test("renderReport() gives the command, machine, table, notes and training details", () => {
  const results = { train: train(), serve: serve(), torch: torch() };
  const md = renderReport(meta(false), benchRows(results), results, ["a note"]);
  assert.ok(md.startsWith("# rotor benchmark\n\n- command: `deno task bench`\n"));
  assert.ok(md.includes("- machine: 2 cores (nproc), AMD EPYC, 24 GiB; load average 0.52 at"));
  assert.ok(md.includes("PyTorch 1.13.1 (Python 3.11.2, 2 threads)"));
  assert.ok(md.includes("`deno run -A bench/bench_train.ts`; `python3 bench/torch_ref.py`"));
  assert.match(
    md,
    /\| train rnn, T = 35, --workers 2: tokens\/s +\| 2,000 +\| 2,000 +\| 1\.00× PyTorch/,
  );
  assert.ok(md.includes("\n- a note\n"));
  assert.match(
    md,
    /\| urnn +\| 35 +\| 1 +\| 1 +\| 728\.0 +\| 718\.0 +\| 962 +\| 48 % +\| 385\.0 +\|/,
  );
  assert.ok(!md.includes("Smoke run"));
});

Deno.test("renderReport() marks a --quick run as a smoke run and says when PyTorch is absent", () => {
  const results = { train: train() };
  const md = renderReport(meta(true), benchRows(results), results, []);
  assert.ok(md.includes("**Smoke run (`--quick`)**"));
  assert.ok(md.includes("PyTorch: not measured"));
});
