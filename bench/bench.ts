/**
 * `deno task bench`: rotor's benchmark suite in one run. It runs, one after the
 * other so they never share the cores,
 *   bench:train  training tokens/s per cell at each BPTT length, one process and --workers,
 *                the orthogonal step's overhead, and the matMul roofline (bench/bench_train.ts);
 *   bench:serve  the real server: generation tokens/s single-stream and at N streams, PTB
 *                test-set scoring, time to first token, peak RSS (bench/bench_serve.ts);
 *   torch_ref    the same for equivalent PyTorch models (bench/torch_ref.py), where a Python
 *                with torch is found — the suite says so and goes on where none is;
 * then prints one table (figure | rotor | PyTorch | ratio | target | met?) and writes it with
 * the machine and the command to reports/bench.md and reports/bench.json.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { CELL_KINDS } from "../shared/config.ts";
import { ptbDir } from "../shared/ptb.ts";
import { fuzzTable } from "./fuzz_serve.ts";
import { tempDir } from "../shared/testing.ts";
import { helpText, kebab, parseFlags, parseList, runCli } from "../shared/flags.ts";
import type { FuzzResult } from "./fuzz_serve.ts";
import { machineInfo, type Meta, renderReport } from "./report.ts";
import { parseResult, ServeBenchSchema, TorchRefSchema, TrainBenchSchema } from "./results.ts";
import { benchRows, renderRows, type Results } from "./table.ts";

const USAGE = "usage: deno task bench [--quick] [flags]";
const int = (min: number) => z.number().int().min(min);
export const PHASES = ["train", "serve", "torch", "fuzz"] as const;

export const BENCH_FLAGS = {
  quick: {
    schema: z.boolean().default(false),
    help: "Smoke run: H = 32, V = 1000, 1 round, short generations, 200 test lines",
  },
  phases: { schema: z.string().default(PHASES.join(",")), help: "Parts to run, comma-separated" },
  reps: { schema: int(1).default(5), help: "Timed rounds per training configuration" },
  cells: { schema: z.string().default("rnn,urnn,gru,ugru"), help: "Cells to train" },
  bptt: { schema: z.string().default("35,150"), help: "BPTT lengths T, comma-separated" },
  workers: { schema: z.string().default("1,2"), help: "Training worker counts, comma-separated" },
  threads: {
    schema: z.string().default("1,2"),
    help: "Wasm threads of the one-process training rows, comma-separated (1 also times --workers)",
  },
  batch: { schema: int(1).default(20), help: "Training batch size B" },
  hidden: { schema: int(1).default(256), help: "Hidden units H (training and serving)" },
  vocab: { schema: int(2).default(10000), help: "Training vocabulary V (serving: PTB's)" },
  tokens: { schema: int(1).default(300), help: "Generated tokens per concurrent stream" },
  streams: { schema: z.string().default("8,32"), help: "Concurrent stream counts" },
  scoreLines: { schema: int(0).default(0), help: "PTB test lines to score (0: all)" },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, else data/ptb)" },
  model: { schema: z.string().optional(), help: "Model folder to serve (default: untrained)" },
  python: {
    schema: z.string().default("auto"),
    help: "Python with torch (auto: python3, else /usr/bin/python3)",
  },
  out: { schema: z.string().default("reports/bench"), help: "Writes OUT.md and OUT.json" },
};

/** What --quick changes, where the flag is not given explicitly. */
export const QUICK = {
  reps: 1,
  hidden: 32,
  vocab: 1000,
  tokens: 30,
  scoreLines: 200,
  out: "reports/bench-quick",
} as const;

/** The flags with --quick's values for those not on the command line; lists checked. */
export function resolveSettings(argv: string[]) {
  const f = parseFlags(BENCH_FLAGS, argv, USAGE);
  if (f.quick) {
    for (const [k, v] of Object.entries(QUICK)) {
      const flag = `--${kebab(k)}`;
      if (!argv.some((a) => a === flag || a.startsWith(`${flag}=`))) {
        (f as Record<string, unknown>)[k] = v;
      }
    }
  }
  const workers = parseList(f.workers, "workers", int(1).max(16));
  for (const w of workers) {
    if (f.batch % w !== 0) throw new Error(`--batch ${f.batch} must be a multiple of workers ${w}`);
  }
  return {
    ...f,
    phases: parseList(f.phases, "phases", z.enum(PHASES)),
    cellList: parseList(f.cells, "cells", z.enum(CELL_KINDS)),
    bpttList: parseList(f.bptt, "bptt", int(1)),
    workerList: workers,
    threadList: parseList(f.threads, "threads", int(1).max(64)),
    streamList: parseList(f.streams, "streams", int(1).max(256)),
  };
}
export type Settings = ReturnType<typeof resolveSettings>;

/** The PyTorch reference's cells: it has no LSTM. */
const TORCH_CELLS = ["rnn", "urnn", "gru", "ugru"];

/** Each subprocess of the run: its label, command line, and which results it gives. */
export function plan(s: Settings, python: string | undefined, json: (n: string) => string) {
  const data = ptbDir(s.data);
  const steps: { label: string; cmd: string; args: string[]; json?: string }[] = [];
  const deno = (file: string, args: string[], label: string) =>
    steps.push({
      label,
      cmd: Deno.execPath(),
      args: ["run", "-A", file, ...args, "--json", json(label)],
      json: json(label),
    });
  if (s.phases.includes("train")) {
    // One process per thread count (a process starts its wasm backend once): one thread with
    // every worker count, more threads for the one-process rows (workers bring their own).
    for (const t of s.threadList) {
      deno("bench/bench_train.ts", [
        ...["--cells", s.cells, "--bptt", s.bptt, "--workers", t === 1 ? s.workers : "1"],
        ...["--threads", String(t), "--reps", String(s.reps), "--batch", String(s.batch)],
        ...["--hidden", String(s.hidden), "--vocab", String(s.vocab)],
      ], t === 1 ? "bench:train" : `bench:train@${t}`);
    }
  }
  if (s.phases.includes("serve")) {
    deno("bench/bench_serve.ts", [
      ...["--streams", s.streams, "--tokens", String(s.tokens)],
      ...["--score-lines", String(s.scoreLines), "--data", data],
      ...(s.model ? ["--model", s.model] : ["--hidden", String(s.hidden)]),
    ], "bench:serve");
  }
  if (s.phases.includes("fuzz")) {
    // The hostile-client run on the same model, on Deno and Bun (bench/fuzz_serve.ts).
    deno("bench/fuzz_serve.ts", [
      ...["--data", data],
      ...(s.model ? ["--model", s.model] : ["--hidden", String(s.hidden)]),
      ...(s.quick ? ["--cases", "260"] : []),
    ], "fuzz:serve");
  }
  if (s.phases.includes("torch") && python) {
    // PyTorch measures what the rotor phases of this run measure (all of it when run alone).
    const alone = !s.phases.includes("train") && !s.phases.includes("serve");
    const what = [
      ...(alone || s.phases.includes("train") ? ["matmul", "train"] : []),
      ...(alone || s.phases.includes("serve") ? ["generate", "score"] : []),
    ];
    const cells = s.cellList.filter((c) => TORCH_CELLS.includes(c));
    steps.push({
      label: "torch_ref",
      cmd: python,
      args: [
        "bench/torch_ref.py",
        ...["--what", what.join(","), "--reps", String(s.reps), "--data", data],
        ...["--cells", (cells.length ? cells : TORCH_CELLS).join(","), "--bptt", s.bptt],
        ...["--batch", String(s.batch), "--hidden", String(s.hidden), "--vocab", String(s.vocab)],
        ...["--tokens", String(s.tokens), "--streams", s.streams],
        ...["--score-lines", String(s.scoreLines)],
      ],
    });
  }
  return steps;
}

/** The first of the candidate Pythons that imports torch, or why there is none. */
export async function findTorchPython(choice: string): Promise<{ python?: string; why?: string }> {
  const candidates = choice === "auto" ? ["python3", "/usr/bin/python3"] : [choice];
  for (const python of candidates) {
    try {
      const r = await new Deno.Command(python, {
        args: ["-c", "import torch"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (r.success) return { python };
    } catch {
      // Not installed: try the next.
    }
  }
  return {
    why:
      `PyTorch not found: none of ${
        candidates.map((c) => `"${c}"`).join(", ")
      } imports torch, so the PyTorch column is empty and no ratio to PyTorch is judged ` +
      `(install python3-torch, or pass --python PATH)`,
  };
}

/** A step's command as a person would type it: `deno`, not the binary's path; no temp file. */
function display(step: { cmd: string; args: string[]; json?: string }): string {
  const args = step.json ? step.args.slice(0, -2) : step.args;
  // The corpus folder is this machine's; the report names the variable that sets it.
  return [step.json ? "deno" : step.cmd, ...args]
    .map((a, i, all) => (all[i - 1] === "--data" ? "$PTB_DIR" : quote(a))).join(" ");
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`);

async function main(argv: string[]): Promise<void> {
  const s = resolveSettings(argv);
  if (s.help) return void console.log(helpText(USAGE, BENCH_FLAGS));
  const load0 = loadavg()[0]!;
  const date = new Date().toISOString();
  const notes: string[] = [];
  let python: string | undefined;
  if (s.phases.includes("torch")) {
    const found = await findTorchPython(s.python);
    python = found.python;
    if (found.why) notes.push(found.why);
  }
  const tmp = await tempDir("rotor-bench-");
  const steps = plan(s, python, (label) => join(tmp, `${label.replace(":", "-")}.json`));
  const results: Results = {};
  let failed = 0;
  console.log(`deno task bench ${argv.join(" ")}`.trim());
  if (notes.length) console.log(notes.join("\n"));
  for (const step of steps) {
    console.log(`\n=== ${step.label}: ${display(step)}\n`);
    try {
      const child = new Deno.Command(step.cmd, {
        args: step.args,
        stdout: step.json ? "inherit" : "piped",
        stderr: "inherit",
      });
      const out = await child.output();
      if (!out.success && step.label === "fuzz:serve" && step.json) {
        // The hostile-client run writes its results before it fails: its table says why.
        results.fuzz = await readFile(step.json, "utf8").then((t) => JSON.parse(t) as FuzzResult[])
          .catch(() => undefined);
      }
      if (!out.success) throw new Error(`${step.label} exited with code ${out.code}`);
      const text = step.json
        ? await readFile(step.json, "utf8")
        : new TextDecoder().decode(out.stdout);
      if (step.label === "bench:train") {
        results.train = parseResult(TrainBenchSchema, text, step.label);
      } else if (step.label.startsWith("bench:train@")) {
        (results.trainThreaded ??= []).push(parseResult(TrainBenchSchema, text, step.label));
      } else if (step.label === "bench:serve") {
        results.serve = parseResult(ServeBenchSchema, text, step.label);
      } else if (step.label === "fuzz:serve") {
        results.fuzz = JSON.parse(text) as FuzzResult[];
      } else {
        results.torch = parseResult(TorchRefSchema, text, step.label);
        notes.push(...(results.torch.notes ?? []).map((n) => `PyTorch: ${n}`));
      }
    } catch (err) {
      failed++;
      const msg = `${step.label} failed: ${(err as Error).message}`;
      notes.push(msg);
      console.error(`error: ${msg}`);
    }
  }
  await rm(tmp, { recursive: true, force: true });
  if (s.quick) notes.unshift("Smoke run (--quick): not comparable with the targets");

  const rows = benchRows(results);
  console.log(`\n${renderRows(rows)}`);
  if (results.fuzz) console.log(`\n${fuzzTable(results.fuzz)}`);
  if (notes.length) console.log(`\n${notes.join("\n")}`);

  const { help: _, ...settings } = s;
  const meta: Meta = {
    command: `deno task bench ${argv.map(quote).join(" ")}`.trim(),
    date,
    machine: await machineInfo(),
    load: [load0, loadavg()[0]!],
    quick: s.quick,
    settings,
    commands: steps.map(display),
  };
  await mkdir(dirname(s.out), { recursive: true });
  await writeFile(`${s.out}.md`, renderReport(meta, rows, results, notes));
  await writeFile(
    `${s.out}.json`,
    JSON.stringify({ meta, rows, notes, results }, null, 2) + "\n",
  );
  console.log(`\nwrote ${s.out}.md and ${s.out}.json`);
  if (failed > 0) process.exit(1);
}

if (import.meta.main) runCli(() => main(Deno.args));
