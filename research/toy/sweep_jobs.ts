/**
 * Run a sweep's runs in parallel child processes, `jobs` at a time. Each child is an ordinary
 * `deno task toy` run (one wasm backend, one core) writing its JSON result and a log beside it,
 * so a sweep uses every core of a machine without changing any run's math. Longer runs start
 * first, so the slowest does not start last.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseFlags, toArgv } from "../../shared/flags.ts";
import { CELLS } from "../../shared/cells/mod.ts";
import { formatDuration } from "../../trainer/progress.ts";
import { TOY_FLAGS, type ToyFlags } from "./flags.ts";
import { describeMetrics, type ToyResult } from "./run.ts";

const TOY_MAIN = fileURLToPath(new URL("./toy.ts", import.meta.url));

/** A rough cost for ordering: time steps × steps × the cell's gate count. */
function cost(f: ToyFlags): number {
  const len = f.task === "copy" ? f.length + 20 : f.length;
  return len * f.steps * CELLS[f.cell].gates;
}

export function runName(f: ToyFlags): string {
  return `${f.task}-L${f.length}-${f.cell}-s${f.seed}`;
}

/** Sweep-level flags: they choose runs, not what a run computes. */
const SWEEP_ONLY = new Set(["sweep", "cells", "report", "replace", "jobs", "skip", "out", "help"]);

/** Whether two flag sets make the same run. */
function sameRun(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return Object.keys(TOY_FLAGS).every((k) => SWEEP_ONLY.has(k) || a[k] === b[k]);
}

/**
 * A run's saved result, if `path` holds one made with the same run flags as `f`: a sweep that
 * was stopped, or ran out of time, then re-runs only what is missing.
 */
async function readSaved(path: string, f: ToyFlags): Promise<ToyResult | undefined> {
  let saved: ToyResult & { command?: string };
  try {
    saved = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  const prefix = "deno task toy ";
  if (!saved.command?.startsWith(prefix)) return undefined;
  // Flag values never hold spaces here (numbers, names, paths made by runName).
  const argv = saved.command.slice(prefix.length).split(" ");
  let flags: Record<string, unknown>;
  try {
    flags = parseFlags(TOY_FLAGS, argv, "");
  } catch {
    return undefined;
  }
  if (!sameRun(flags, f)) return undefined;
  const { command: _, ...result } = saved;
  return result;
}

/**
 * Run every flag set in its own process; results come back in the order of `runs`, with the
 * number of them reused from earlier invocations.
 */
export async function runInProcesses(
  runs: ToyFlags[],
  jobs: number,
  dir: string,
): Promise<{ results: ToyResult[]; reused: number }> {
  await mkdir(dir, { recursive: true });
  const order = runs.map((_, i) => i).sort((a, b) => cost(runs[b]!) - cost(runs[a]!));
  const results: ToyResult[] = new Array(runs.length);
  const start = performance.now();
  let done = 0, reused = 0;
  const worker = async () => {
    for (let i = order.shift(); i !== undefined; i = order.shift()) {
      const f = runs[i]!;
      const name = runName(f);
      const out = join(dir, `${name}.json`);
      const args = toArgv(TOY_FLAGS, {
        ...f,
        sweep: undefined,
        jobs: 1,
        out,
        report: undefined,
        replace: false,
      });
      const saved = await readSaved(out, f);
      if (saved) {
        results[i] = saved;
        reused++;
        console.log(`[reused] ${name}: ${describeMetrics(saved.metrics)} (saved in ${out})`);
        continue;
      }
      // The child's output goes to its log as it runs, so a stopped sweep still shows progress.
      const log = join(dir, `${name}.log`);
      const file = await Deno.open(log, { write: true, create: true, truncate: true });
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", TOY_MAIN, ...args],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // Written with file.write, not file.writable: the writable stream's writes resolved
      // while the file stayed empty until the child exited (measured with Deno 2.9).
      const copy = async (s: ReadableStream<Uint8Array>) => {
        for await (const chunk of s) {
          for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
        }
      };
      await Promise.all([copy(child.stdout), copy(child.stderr)]);
      const status = await child.status;
      file.close();
      if (!status.success) {
        const tail = (await readFile(log, "utf8")).slice(-2000);
        throw new Error(`sweep run ${name} failed (exit ${status.code}); end of ${log}:\n${tail}`);
      }
      const result = await readSaved(out, f);
      if (!result) throw new Error(`sweep run ${name} did not write ${out} as expected`);
      results[i] = result;
      done++;
      const elapsed = (performance.now() - start) / 1000;
      console.log(
        `[${done}/${runs.length}] ${name}: ${describeMetrics(result.metrics)} (train ${
          formatDuration(result.trainSeconds)
        }) | sweep ${formatDuration(elapsed)}`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, runs.length) }, worker));
  return { results, reused };
}
