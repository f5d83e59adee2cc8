/**
 * `deno task bench:step`: time per training batch (B = 20, T = --bptt, H = --hidden,
 * V = 10,000) for each cell — forward + backward alone, and the whole step with clipping, Adam
 * and the orthogonal Lie-group step — beside the GFLOPS of a plain [B·T×H]·[H×10000] matMul
 * measured in the same run. Cells take turns within each round (step_time.ts), so a change in
 * the machine's load during the run hits every cell alike; overheads are paired per round.
 */
import { z } from "zod";
import { tf } from "../shared/tf.ts";
import type { Tensor2D } from "../shared/tf.ts";
import { BACKENDS, initBackend } from "../shared/backend.ts";
import { CELL_KINDS, parseModelConfig } from "../shared/config.ts";
import { helpText, parseFlags, runCli } from "./flags.ts";
import { pairedOverhead, quantile, timeSteps } from "./step_time.ts";

const USAGE = "usage: deno task bench:step [flags]";
const FLAGS = {
  backend: { schema: z.enum(BACKENDS).default("wasm"), help: "TensorFlow.js backend" },
  reps: { schema: z.number().int().min(1).default(5), help: "Timed rounds" },
  bptt: { schema: z.number().int().min(1).default(35), help: "Time steps per batch" },
  hidden: { schema: z.number().int().min(1).default(256), help: "Hidden units" },
  cells: { schema: z.string().default("rnn,urnn,gru,ugru,lstm"), help: "Cells to time" },
};

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, FLAGS));
  const chosen = await initBackend(f.backend);
  const B = 20, T = f.bptt, H = f.hidden, V = 10000;
  const cells = f.cells.split(",").map((c) => {
    const r = z.enum(CELL_KINDS).safeParse(c);
    if (!r.success) {
      throw new Error(`Unknown cell "${c}" in --cells; expected ${CELL_KINDS.join(", ")}`);
    }
    return r.data;
  });

  const a = tf.randomNormal([B * T, H]) as Tensor2D, b = tf.randomNormal([H, V]) as Tensor2D;
  const mmTimes: number[] = [];
  for (let i = 0; i <= f.reps; i++) {
    const t0 = performance.now();
    tf.tidy(() => void tf.matMul(a, b).dataSync());
    if (i > 0) mmTimes.push(performance.now() - t0); // the first call warms up
  }
  const mm = quantile(mmTimes, 0.5);
  const gflops = (2 * B * T * H * V) / mm / 1e6;
  console.log(
    `backend ${chosen.name}; matMul [${B * T}×${H}]·[${H}×${V}]: ${mm.toFixed(1)} ms = ${
      gflops.toFixed(1)
    } GFLOPS`,
  );

  const models = cells.map((cell) => ({
    label: cell,
    cfg: parseModelConfig({ cell, activation: "tanh", vocabSize: V, embedSize: H, hiddenSize: H }),
  }));
  const rows = timeSteps(models, { batch: B, bptt: T, reps: f.reps, seed: 1 });
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(5)} forward+backward ${r.fwdBwdMs.toFixed(1)} ms/batch, whole step ` +
        `${r.stepMs.toFixed(1)} ms/batch (${((B * T) / (r.stepMs / 1000)).toFixed(0)} tokens/s)`,
    );
  }
  const find = (c: string) => rows.find((r) => r.label === c);
  for (const [u, p] of [["urnn", "rnn"], ["ugru", "gru"]] as const) {
    const ur = find(u), pr = find(p);
    if (!ur || !pr) continue;
    const o = pairedOverhead(ur.stepSamples, pr.stepSamples);
    console.log(
      `${u} vs ${p}: whole step ${o.median.toFixed(1)} % (quartiles ${o.q1.toFixed(1)} … ${
        o.q3.toFixed(1)
      } %)`,
    );
  }
}

if (import.meta.main) runCli(() => main(Deno.args));
