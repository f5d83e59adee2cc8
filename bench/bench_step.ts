/**
 * `deno task bench:step`: time per training batch (B = 20, T = --bptt, H = --hidden,
 * V = 10,000) for each cell — forward + backward alone, and the whole step with clipping, Adam
 * and the orthogonal Lie-group step — beside the GFLOPS of a plain [B·T×H]·[H×10000] matMul
 * measured in the same run. `deno task bench:train` runs the same timing at both BPTT
 * lengths and worker counts for the benchmark suite. Cells take turns within each round (step_time.ts), so a change in
 * the machine's load during the run hits every cell alike; overheads are paired per round.
 */
import { z } from "zod";
import { BACKENDS, describeBackend, initBackend } from "../shared/backend.ts";
import { CELL_KINDS, type CellKind, parseModelConfig } from "../shared/config.ts";
import { helpText, parseFlags, parseList, runCli } from "../shared/flags.ts";
import { orthOverheads, timeMatMul, timeSteps } from "../trainer/step_time.ts";

const USAGE = "usage: deno task bench:step [flags]";
const FLAGS = {
  backend: {
    schema: z.enum(BACKENDS).default("wasm"),
    help: "TensorFlow.js backend (any but wasm is timed beside wasm)",
  },
  reps: { schema: z.number().int().min(1).default(5), help: "Timed rounds" },
  bptt: { schema: z.number().int().min(1).default(35), help: "Time steps per batch" },
  hidden: { schema: z.number().int().min(1).default(256), help: "Hidden units" },
  cells: { schema: z.string().default("rnn,urnn,gru,ugru,lstm"), help: "Cells to time" },
  workers: {
    schema: z.number().int().min(1).max(20).default(1),
    help: "Data-parallel shards of each batch, one thread each (as train --workers)",
  },
};

/** The matMul roofline and every cell's step times on the active backend. */
async function measure(
  f: { reps: number; bptt: number; hidden: number; workers: number },
  cells: CellKind[],
) {
  const B = 20, T = f.bptt, H = f.hidden, V = 10000;
  const mm = await timeMatMul(B * T, H, V, f.reps);
  const models = cells.map((cell) => ({
    label: cell,
    cfg: parseModelConfig({ cell, activation: "tanh", vocabSize: V, embedSize: H, hiddenSize: H }),
  }));
  const rows = await timeSteps(models, {
    batch: B,
    bptt: T,
    reps: f.reps,
    seed: 1,
    workers: f.workers,
  });
  return { mm, rows };
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, FLAGS));
  const chosen = await initBackend(f.backend);
  const B = 20, T = f.bptt, H = f.hidden, V = 10000;
  const cells = parseList(f.cells, "cells", z.enum(CELL_KINDS));
  const runs = [{ name: chosen.name, ...(await measure(f, cells)) }];
  console.log(describeBackend(chosen));
  if (chosen.name !== "wasm") {
    // The same measurement on wasm, in the same process, as the reference beside it.
    const wasm = await initBackend("wasm");
    console.log(`beside ${describeBackend(wasm)}`);
    runs.push({ name: "wasm", ...(await measure(f, cells)) });
  }
  const col = (xs: string[]) => xs.map((x) => x.padStart(24)).join("");
  console.log(
    `B = ${B}, T = ${T}, H = ${H}, V = ${V}\n${"".padEnd(24)}${col(runs.map((r) => r.name))}`,
  );
  console.log(
    `${`matMul [${B * T}×${H}]·[${H}×${V}]`.padEnd(24)}${
      col(runs.map((r) => `${r.mm.ms.toFixed(1)} ms ${r.mm.gflops.toFixed(1)} GFLOPS`))
    }`,
  );
  for (const [i, cell] of cells.entries()) {
    const at = (r: (typeof runs)[number]) => r.rows[i]!;
    console.log(
      `${`${cell} forward+backward`.padEnd(24)}${
        col(runs.map((r) => `${at(r).fwdBwdMs.toFixed(1)} ms`))
      }`,
    );
    console.log(
      `${`${cell} whole step`.padEnd(24)}${
        col(runs.map((r) =>
          `${at(r).stepMs.toFixed(1)} ms ${((B * T) / (at(r).stepMs / 1000)).toFixed(0)} tok/s`
        ))
      }`,
    );
  }
  for (const r of runs) {
    for (const o of orthOverheads(r.rows)) {
      console.log(
        `${r.name}: ${o.cell} vs ${o.base}: whole step ${o.median.toFixed(1)} % (quartiles ${
          o.q1.toFixed(1)
        } … ${o.q3.toFixed(1)} %)`,
      );
    }
  }
}

if (import.meta.main) runCli(() => main(Deno.args));
