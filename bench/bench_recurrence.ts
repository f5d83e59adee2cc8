/**
 * `deno task bench:recurrence`: one layer's unroll alone, forward + backward (every gradient:
 * xw, the recurrent matrices, the vector parameter, the initial state), as the recurrence op
 * and as the composed tfjs ops, for each cell: ms per call (medians, the two taking turns in
 * every round) and the kernels each runs (tf.profile). bench:train times the same choice
 * inside the trainer's whole step, where the output layer's products weigh as much.
 */
import { z } from "zod";
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Tensor3D } from "../shared/tf.ts";
import { BACKENDS, describeBackend, initBackend } from "../shared/backend.ts";
import { CELL_KINDS, type CellKind, parseModelConfig } from "../shared/config.ts";
import { CELLS } from "../shared/cells/mod.ts";
import { cellOptions } from "../shared/model.ts";
import { createPrng } from "../shared/prng.ts";
import { type RecurrenceKind, unrollLayer } from "../shared/recurrence/mod.ts";
import { helpText, parseFlags, parseList, runCli } from "../shared/flags.ts";
import { pairedSpeedup, quantile, settle } from "../trainer/step_time.ts";

const USAGE = "usage: deno task bench:recurrence [flags]";
const int = (min: number) => z.number().int().min(min);
const FLAGS = {
  cells: { schema: z.string().default("rnn,urnn,gru,ugru,lstm"), help: "Cells to time" },
  hidden: { schema: int(1).default(256), help: "Hidden units H" },
  batch: { schema: int(1).default(20), help: "Batch size B" },
  bptt: { schema: int(1).default(35), help: "Time steps T" },
  reps: { schema: int(1).default(10), help: "Timed rounds" },
  backend: { schema: z.enum(BACKENDS).default("wasm"), help: "TensorFlow.js backend" },
};

/** A closure computing one layer's loss gradients by `kind`; the tensors it reads are kept. */
function layer(cell: CellKind, H: number, B: number, T: number) {
  const cfg = parseModelConfig({ cell, vocabSize: 2, embedSize: H, hiddenSize: H });
  const o = cellOptions(cfg, 0), def = CELLS[cell], prng = createPrng(1);
  const shapes = Object.entries(def.shapes(o)).filter(([k]) => k !== "W" && k !== "b");
  const params = shapes.map(([k, s]) => tf.tensor(def.init(k, s, o, prng), s));
  const xw = tf.randomNormal([T, B, def.gates * H], 0, 1, "float32", 1) as Tensor3D;
  const h0 = tf.zeros([B, H]) as Tensor2D;
  const grads = (kind: RecurrenceKind) => () =>
    tf.tidy(() => {
      const f = (x: Tensor, ...ps: Tensor[]) => {
        const p = Object.fromEntries(shapes.map(([k], i) => [k, ps[i]!])) as never;
        const state = { h: h0, ...(def.hasCell ? { c: h0 } : {}) };
        const { hs } = unrollLayer(kind, def, p, def.prepare(p), o, x as Tensor3D, state);
        return tf.sum(tf.square(hs));
      };
      return tf.grads(f)([xw, ...params]);
    });
  return { grads, dispose: () => tf.dispose([...params, xw, h0]) };
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, FLAGS));
  const cells = parseList(f.cells, "cells", z.enum(CELL_KINDS));
  const chosen = await initBackend(f.backend);
  console.log(`${describeBackend(chosen)}; B = ${f.batch}, T = ${f.bptt}, H = ${f.hidden}`);
  for (const cell of cells) {
    const l = layer(cell, f.hidden, f.batch, f.bptt);
    const times: Record<RecurrenceKind, number[]> = { fused: [], composed: [] };
    const kernels: Record<string, number> = {};
    for (let i = 0; i <= f.reps; i++) {
      const order: RecurrenceKind[] = i % 2 ? ["fused", "composed"] : ["composed", "fused"];
      for (const kind of order) {
        const t0 = performance.now();
        const g = l.grads(kind)();
        await settle(g);
        tf.dispose(g);
        if (i > 0) times[kind].push(performance.now() - t0); // round 0 warms up
      }
    }
    for (const kind of ["fused", "composed"] as const) {
      const info = await tf.profile(() => tf.dispose(l.grads(kind)()));
      kernels[kind] = info.kernels.length;
    }
    l.dispose();
    const s = pairedSpeedup(times.fused, times.composed);
    const ms = (k: RecurrenceKind) => quantile(times[k], 0.5).toFixed(1);
    console.log(
      `  ${cell.padEnd(5)} fused ${ms("fused")} ms (${kernels.fused} kernels), composed ` +
        `${ms("composed")} ms (${kernels.composed} kernels): ${s.median.toFixed(2)}× ` +
        `(quartiles of the paired rounds ${s.q1.toFixed(2)} … ${s.q3.toFixed(2)}×)`,
    );
  }
}

if (import.meta.main) runCli(() => main(Deno.args));
