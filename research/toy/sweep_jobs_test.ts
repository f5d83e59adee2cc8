import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { defaultToyFlags, dryRunFlags } from "./flags.ts";
import { runInProcesses, runName } from "./sweep_jobs.ts";
import { quiet } from "../../trainer/testing.ts";

Deno.test("runInProcesses() runs each flag set in a child process and reuses what it saved", async () => {
  const dir = await Deno.makeTempDir();
  const base = dryRunFlags({ ...defaultToyFlags(), task: "first", length: 4, dryRun: true });
  const runs = [{ ...base, cell: "rnn" as const }, { ...base, cell: "urnn" as const }];
  const { results: first, reused } = await quiet(() => runInProcesses(runs, 2, dir));
  assert.equal(reused, 0);
  assert.deepEqual(first.map((r) => r.model.cell), ["rnn", "urnn"]);
  const json = join(dir, `${runName(runs[0]!)}.json`);
  const before = (await stat(json)).mtimeMs;
  // Sweep-level flags (how many at once, what else the grid holds) do not change a run.
  const { results: again, reused: reusedAgain } = await quiet(() =>
    runInProcesses(runs.map((f) => ({ ...f, jobs: 1, skip: "kth:9" })), 1, dir)
  );
  assert.deepEqual(again, first);
  assert.equal(reusedAgain, 2);
  assert.equal((await stat(json)).mtimeMs, before, "a saved run with the same flags is reused");
  // A changed flag is a different run, though it is saved under the same name: not reused.
  const changed = await quiet(() => runInProcesses([{ ...runs[0]!, lr: 0.01 }], 1, dir));
  assert.equal(changed.reused, 0);
  assert.equal(changed.results[0]!.train.lr, 0.01);
  assert.notEqual((await stat(json)).mtimeMs, before);
  await Deno.remove(dir, { recursive: true });
});
