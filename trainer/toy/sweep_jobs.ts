/**
 * Run a sweep's runs in parallel child processes, `jobs` at a time. Each child is an ordinary
 * `deno task toy` run (one wasm backend, one core) writing its JSON result and a log beside it,
 * so a sweep uses every core of a machine without changing any run's math. Longer runs start
 * first, so the slowest does not start last.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { toArgv } from "../flags.ts";
import { CELLS } from "../../shared/cells/mod.ts";
import { formatDuration } from "../progress.ts";
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

/**
 * A run's saved result, if `path` holds one made by exactly `command` (same flags, same
 * output path): a sweep that was stopped, or ran out of time, then re-runs only what is missing.
 */
async function readSaved(path: string, command: string): Promise<ToyResult | undefined> {
  let saved: ToyResult & { command?: string };
  try {
    saved = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  if (saved.command !== command) return undefined;
  const { command: _, ...result } = saved;
  return result;
}

/** Run every flag set in its own process; results come back in the order of `runs`. */
export async function runInProcesses(
  runs: ToyFlags[],
  jobs: number,
  dir: string,
): Promise<ToyResult[]> {
  await mkdir(dir, { recursive: true });
  const order = runs.map((_, i) => i).sort((a, b) => cost(runs[b]!) - cost(runs[a]!));
  const results: ToyResult[] = new Array(runs.length);
  const start = performance.now();
  let done = 0;
  const worker = async () => {
    for (let i = order.shift(); i !== undefined; i = order.shift()) {
      const f = runs[i]!;
      const name = runName(f);
      const out = join(dir, `${name}.json`);
      const args = toArgv(TOY_FLAGS, { ...f, sweep: undefined, jobs: 1, out });
      const command = `deno task toy ${args.join(" ")}`;
      const saved = await readSaved(out, command);
      if (saved) {
        results[i] = saved;
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
      const sink = file.writable.getWriter();
      const copy = async (s: ReadableStream<Uint8Array>) => {
        for await (const chunk of s) await sink.write(chunk);
      };
      await Promise.all([copy(child.stdout), copy(child.stderr)]);
      const status = await child.status;
      await sink.close();
      if (!status.success) {
        const tail = (await readFile(log, "utf8")).slice(-2000);
        throw new Error(`sweep run ${name} failed (exit ${status.code}); end of ${log}:\n${tail}`);
      }
      const result = await readSaved(out, command);
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
  return results;
}
