/**
 * reports/bench.md and reports/bench.json: the suite's table with the machine, the command
 * and the date it was measured on, and the details behind the training rows.
 */
import { fuzzTable } from "./fuzz_serve.ts";
import { readFile } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import {
  fmtInt,
  markdownTable,
  renderRows,
  type Results,
  type Row,
  trainResults,
} from "./table.ts";

export interface Machine {
  /** Cores this process may use (what `nproc` prints). */
  nproc: number;
  cpu: string;
  memoryGiB: number;
  deno: string;
  /** The commit measured, "+ local changes" when the tree differs from it. */
  commit: string;
}

export interface Meta {
  command: string;
  date: string;
  machine: Machine;
  /** Load average (1 min) when the run started and ended: a busy machine shows here. */
  load: [number, number];
  quick: boolean;
  settings: Record<string, unknown>;
  /** The subprocesses the suite ran, in order. */
  commands: string[];
}

async function run(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "";
  } catch {
    return "";
  }
}

export async function machineInfo(): Promise<Machine> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const commit = await run("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = (await run("git", ["status", "--porcelain", "--untracked-files=no"])) !== "";
  return {
    nproc: availableParallelism(),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    deno: Deno.version.deno,
    commit: commit ? `${commit}${dirty ? " + local changes" : ""}` : "unknown",
  };
}

function trainDetails(r: Results): string {
  if (!r.train && !r.trainThreaded?.length) return "";
  const rows = trainResults(r).flatMap((tb) =>
    tb.runs.flatMap((run) =>
      run.cells.map((c) => {
        const t = r.torch?.train?.rows.find((x) => x.cell === c.cell && x.bptt === run.bptt);
        return [
          c.cell,
          String(run.bptt),
          String(run.workers),
          String(tb.threads),
          c.stepMs.toFixed(1),
          c.fwdBwdMs.toFixed(1),
          fmtInt(c.tokensPerS),
          `${(100 * c.tokensPerS / c.rooflineTokensPerS).toFixed(0)} %`,
          t ? t.stepMs.toFixed(1) : "—",
        ];
      })
    )
  );
  const { batch, hidden, vocab, reps } = trainResults(r)[0]!;
  return `## Training details

B = ${batch}, H = ${hidden}, V = ${vocab} (tied, full softmax); medians over rounds (${reps}) in
which the cells take turns; the step is the trainer's own (gradient engine, clipping, Adam, orthogonal
step), the hidden state carried between batches. "Roofline" is tokens/s if every matrix product of
the step (forward and both backward products) ran at the matMul GFLOPS of the same process
(measured on its own threads), times the worker count.

${
    markdownTable([
      "cell",
      "T",
      "workers",
      "threads",
      "ms/batch",
      "fwd+bwd ms",
      "tokens/s",
      "of roofline",
      "PyTorch ms/batch",
    ], rows)
  }
`;
}

/** The report's Markdown. */
export function renderReport(meta: Meta, rows: Row[], results: Results, notes: string[]): string {
  const m = meta.machine;
  const torch = results.torch
    ? `PyTorch ${results.torch.torch} (Python ${results.torch.python}, ${results.torch.threads} threads)`
    : "PyTorch: not measured";
  return `# rotor benchmark
${
    meta.quick
      ? "\n**Smoke run (`--quick`)**: sizes scaled down and one round; these figures check that the " +
        "suite runs and are not comparable with the targets.\n"
      : ""
  }
- command: \`${meta.command}\`
- date: ${meta.date}
- machine: ${m.nproc} cores (nproc), ${m.cpu}, ${m.memoryGiB} GiB; load average ${
    meta.load[0].toFixed(2)
  } at the start, ${meta.load[1].toFixed(2)} at the end
- software: Deno ${m.deno}, TensorFlow.js ${
    trainResults(results)[0]?.backend ?? "wasm"
  } backend; ${torch}
- commit: ${m.commit}
- ran, one after the other: ${meta.commands.map((c) => `\`${c}\``).join("; ")}

## Results

rotor over PyTorch where both ran, in one run on one machine. A ratio names what it divides by.
Training is judged where rotor keeps as many cores busy as any configuration measured
(--workers 2, or one process on 2 threads), as PyTorch uses every core; the other rows are for
reference. Orthogonal overheads are medians of per-round ratios (quartiles in brackets).
Generation and scoring time a client over loopback HTTP for rotor, and the model in-process for
PyTorch. Timings are never a test's pass or fail.

${renderRows(rows)}
${notes.length ? `\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}
${trainDetails(results)}${
    results.fuzz
      ? `\n## Hostile client (\`deno task fuzz:serve\`)\n\n${fuzzTable(results.fuzz)}\n`
      : ""
  }`;
}
