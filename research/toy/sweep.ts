/**
 * The sweeps: the poster's grid (first at L = 20, 50, 100; kth at L = 100, 200, 400) and the
 * standard benchmarks (copy at T = 100, 200, 500; adding at T = 100, 200, 400), every run
 * with the same flags (step budget included). Each sweep saves toy-<sweep>.json in a new
 * folder under runs/reports/ (in reports/ with --replace); toy.md and the learning-curve plots
 * are rebuilt there from this sweep and the other sweeps saved beside it or in reports/.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { CELL_KINDS } from "../../shared/config.ts";
import { formatDuration } from "../../trainer/progress.ts";
import { type SweepKind, SWEEPS, type ToyFlags } from "./flags.ts";
import { runToy, type ToyResult } from "./run.ts";
import { runInProcesses } from "./sweep_jobs.ts";
import type { TaskKind } from "./tasks.ts";
import { curvesSvg, renderReport, type SweepRecord } from "./report.ts";
import { reportDir } from "../report_out.ts";

export const GRIDS: Record<SweepKind, { task: TaskKind; lengths: number[] }[]> = {
  poster: [{ task: "first", lengths: [20, 50, 100] }, { task: "kth", lengths: [100, 200, 400] }],
  standard: [{ task: "copy", lengths: [100, 200, 500] }, {
    task: "adding",
    lengths: [100, 200, 400],
  }],
};

export function parseCells(list: string): (typeof CELL_KINDS)[number][] {
  return list.split(",").map((c) => {
    const r = z.enum(CELL_KINDS).safeParse(c.trim());
    if (!r.success) {
      throw new Error(`Unknown cell "${c}" in --cells; expected ${CELL_KINDS.join(", ")}`);
    }
    return r.data;
  });
}

async function readSweep(dir: string, kind: SweepKind): Promise<SweepRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, `toy-${kind}.json`), "utf8")) as SweepRecord;
  } catch {
    return undefined;
  }
}

/** Run `f.sweep`'s grid for every cell in `f.cells`, save it, and rebuild the report. */
export async function sweep(f: ToyFlags, command: string): Promise<ToyResult[]> {
  const kind = f.sweep!;
  const cells = parseCells(f.cells);
  const results: ToyResult[] = [];
  const start = performance.now();
  const runs: ToyFlags[] = [];
  let reused = 0;
  for (const { task, lengths } of GRIDS[kind]) {
    for (const length of lengths) {
      if (f.skip.split(",").includes(`${task}:${length}`)) continue;
      for (const cell of cells) runs.push({ ...f, task, length, cell });
    }
  }
  if (f.jobs > 1) {
    // A dry run's results must not land where a real sweep would reuse them.
    const dir = f.dryRun
      ? await Deno.makeTempDir({ prefix: `rotor-sweep-${kind}-` })
      : join("runs", "toy", `sweep-${kind}`);
    const done = await runInProcesses(runs, f.jobs, dir);
    results.push(...done.results);
    reused = done.reused;
  } else {
    for (const r of runs) results.push(await runToy(r));
  }
  const record: SweepRecord = {
    sweep: kind,
    command,
    flags: f,
    totalSeconds: (performance.now() - start) / 1000,
    reused,
    results,
  };
  const out = await reportDir({
    command: `toy-${kind}`,
    committed: "reports",
    replace: f.replace,
    out: f.report,
  });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, `toy-${kind}.json`), JSON.stringify(record, null, 1) + "\n");
  const records: SweepRecord[] = [];
  for (const k of SWEEPS) {
    const r = k === kind
      ? record
      : (await readSweep(out, k)) ?? (f.dryRun ? undefined : await readSweep("reports", k));
    if (r) records.push(r);
  }
  for (const { task } of GRIDS[kind]) {
    await writeFile(join(out, `toy-${task}.svg`), await curvesSvg(record, task));
  }
  await writeFile(join(out, "toy.md"), renderReport(records));
  console.log(
    `sweep ${kind}: ${results.length} runs in ${formatDuration(record.totalSeconds)}; wrote ${
      join(out, "toy.md")
    }`,
  );
  return results;
}
