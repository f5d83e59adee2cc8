/**
 * `deno task gradflow`: how the gradient's norm changes with distance in time,
 * ‖∂L_T/∂h_{T−k}‖ for k = 0…K, averaged over batches, for models at initialisation
 * (`--cells rnn,urnn`) or trained (`--model DIR[,DIR]`). Writes a JSON table and an SVG plot,
 * and prints the poster's bound: with U's eigenvalue moduli in [λmin, λmax] and σ' in [a, b],
 * (a·λmin)^t ≲ ‖∂h_t/∂h_0‖ ≲ (b·λmax)^t.
 *
 * The gradient with respect to each hidden state comes from a zero "probe" added to h_t:
 * ∂L/∂probe_t = ∂L/∂h_t, so one backward pass gives every k at once.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from "../shared/tf.ts";
import { BACKENDS, describeBackend, initBackend } from "../shared/backend.ts";
import { type Activation, ACTIVATIONS } from "../shared/activations.ts";
import { CELL_KINDS, type CellKind, type ModelConfig, parseModelConfig } from "../shared/config.ts";
import { CELLS, isComplex, unroll } from "../shared/cells/mod.ts";
import {
  cellOptions,
  initParams,
  layerParams,
  type Params,
  project,
  zeroState,
} from "../shared/model.ts";
import { embed, softmaxCrossEntropy } from "../shared/ops.ts";
import { loadModel } from "../shared/model_format.ts";
import { REPLACE_FLAG, reportDir } from "./report_out.ts";
import { loadPtb, ptbDir } from "../shared/ptb.ts";
import { createPrng } from "../shared/prng.ts";
import { helpText, parseFlags, runCli } from "../shared/flags.ts";
import { lineChartSvg } from "./plot.ts";

const USAGE = "usage: deno task gradflow (--cells rnn,urnn | --model DIR[,DIR]) [flags]";
export const GRADFLOW_FLAGS = {
  cells: {
    schema: z.string().default("rnn,urnn"),
    help: `Cells at initialisation (${CELL_KINDS.join(",")})`,
  },
  model: {
    schema: z.string().optional(),
    help: "Trained model folders, comma-separated (instead of --cells)",
  },
  activation: {
    schema: z.enum(ACTIVATIONS).default("tanh"),
    help: "σ for rnn/urnn at initialisation",
  },
  hidden: { schema: z.number().int().min(1).default(256), help: "Hidden units at initialisation" },
  k: { schema: z.number().int().min(1).default(400), help: "Largest distance in time K" },
  batch: { schema: z.number().int().min(1).default(8), help: "Sequences per batch" },
  batches: { schema: z.number().int().min(1).default(2), help: "Batches to average over" },
  data: { schema: z.string().optional(), help: "PTB folder for input text (else random tokens)" },
  seed: { schema: z.number().int().default(1), help: "Seed for weights and inputs" },
  out: {
    schema: z.string().optional(),
    help: "Folder for gradflow.json and gradflow.svg (default: a new one under runs/reports/)",
  },
  replace: REPLACE_FLAG,
  backend: { schema: z.enum(BACKENDS).default("auto"), help: "TensorFlow.js backend" },
  dryRun: { schema: z.boolean().default(false), help: "K = 20, one small batch, tiny models" },
};

/** ‖∂L_T/∂h_{T−k}‖ for k = 0…K (mean over the batch rows), one batch of tokens [B, K+2]. */
export async function gradientNorms(
  params: Params,
  cfg: ModelConfig,
  tokens: Int32Array,
  b: number,
  K: number,
): Promise<number[]> {
  if (cfg.layers !== 1) {
    throw new Error(`gradflow measures one-layer models; this one has ${cfg.layers}`);
  }
  const T = K + 1;
  const cell = CELLS[cfg.cell];
  const o = cellOptions(cfg, 0);
  const p = layerParams(params, 0);
  const norms = tf.tidy(() => {
    const all = tf.tensor2d(tokens, [b, T + 1], "int32");
    const x = tf.slice(all, [0, 0], [b, T]);
    const target = tf.reshape(tf.slice(all, [0, T], [b, 1]), [-1]) as Tensor1D;
    const ids = tf.reshape(tf.transpose(x), [-1]) as Tensor1D; // time-major [T·B]
    const xw = tf.reshape(cell.project(p, embed(params.embedding as Tensor2D, ids)), [
      T,
      b,
      cell.gates * cfg.hiddenSize,
    ]) as Tensor3D; // [T,B,gH]
    const prep = cell.prepare(p);
    const f = (...probes: Tensor[]) => {
      // A zero probe added to each h_t: ∂L/∂probe_t is ∂L_T/∂h_t.
      const { state: s } = unroll(cell, p, prep, o, xw, zeroState(cfg, b)[0]!, (s, t) => ({
        ...s,
        h: tf.add(s.h, probes[t]!) as Tensor2D,
      }));
      return softmaxCrossEntropy(project(params, cfg, s.h), target);
    };
    const probes = Array.from({ length: T }, () => tf.zeros([b, cfg.hiddenSize]));
    const grads = tf.grads(f)(probes);
    // grads[t] = ∂L_T/∂h_t; distance k = T−1−t. Norm per row, then the mean over rows.
    return tf.stack(grads.map((g) => tf.mean(tf.norm(g, "euclidean", 1))));
  });
  const values = await norms.data();
  norms.dispose();
  return Array.from({ length: T }, (_, k) => values[T - 1 - k]!);
}

/** σ' range [a, b] of an activation (for the bound). */
function derivativeRange(a: Activation, slope: number): [number, number] {
  switch (a) {
    case "abs":
    case "linear":
      return [1, 1];
    case "leaky_relu":
      return [slope, 1];
    default:
      return [0, 1];
  }
}

/** φ(W) = [[X, Y], [−Y, X]] [2n, 2n] in float64 from a complex W stored [X | Y] [n, 2n]. */
export function realBlock(u: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(4 * n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = u[i * 2 * n + j]!, y = u[i * 2 * n + n + j]!;
      out[i * 2 * n + j] = x;
      out[i * 2 * n + n + j] = y;
      out[(n + i) * 2 * n + j] = -y;
      out[(n + i) * 2 * n + n + j] = x;
    }
  }
  return out;
}

/** Eigenvalue moduli of an H×H matrix, by ml-matrix's eigendecomposition. */
export function eigenModuli(values: Float32Array | Float64Array | number[], n: number): number[] {
  const rows = Array.from({ length: n }, (_, i) => Array.from(values.slice(i * n, (i + 1) * n)));
  const e = new EigenvalueDecomposition(new Matrix(rows));
  return e.realEigenvalues.map((re, i) => Math.hypot(re, e.imaginaryEigenvalues[i]!));
}

export async function gradflow(argv: string[]): Promise<void> {
  const f = parseFlags(GRADFLOW_FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, GRADFLOW_FLAGS));
  console.log(describeBackend(await initBackend(f.backend)));
  const K = f.dryRun ? 20 : f.k, B = f.dryRun ? 2 : f.batch, nb = f.dryRun ? 1 : f.batches;
  const models: { label: string; cfg: ModelConfig; params: Params }[] = [];
  let vocabSize = 10000;
  let stream: Int32Array | undefined;
  if (f.data || process.env.PTB_DIR) {
    const ptb = await loadPtb(ptbDir(f.data));
    stream = ptb.valid;
    vocabSize = ptb.vocab.words.length;
  }
  if (f.model) {
    for (const dir of f.model.split(",")) {
      const m = await loadModel(dir);
      models.push({
        label: `${dir.replace(/\/$/, "").split("/").pop()} (trained)`,
        cfg: m.config,
        params: m.params,
      });
    }
  } else {
    const hidden = f.dryRun ? 16 : f.hidden;
    for (const cell of f.cells.split(",")) {
      const c = z.enum(CELL_KINDS).safeParse(cell);
      if (!c.success) {
        throw new Error(`Unknown cell "${cell}" in --cells; expected ${CELL_KINDS.join(", ")}`);
      }
      const cfg = parseModelConfig({
        cell: c.data as CellKind,
        activation: f.activation,
        vocabSize,
        embedSize: hidden,
        hiddenSize: hidden,
      });
      const act = c.data === "rnn" || c.data === "urnn" ? ` (${f.activation})` : "";
      models.push({ label: `${c.data}${act}, init`, cfg, params: initParams(cfg, f.seed) });
    }
  }
  const prng = createPrng(f.seed);
  const table: Record<string, number[]> = {};
  for (const m of models) {
    const sum = new Array(K + 1).fill(0);
    for (let i = 0; i < nb; i++) {
      const toks = new Int32Array(B * (K + 2));
      for (let r = 0; r < B; r++) {
        const start = stream ? prng.int(stream.length - K - 3) : 0;
        for (let t = 0; t < K + 2; t++) {
          toks[r * (K + 2) + t] = stream ? stream[start + t]! : prng.int(m.cfg.vocabSize);
        }
      }
      (await gradientNorms(m.params, m.cfg, toks, B, K)).forEach((v, k) => (sum[k] += v / nb));
    }
    table[m.label] = sum;
    const at = (k: number) => sum[Math.min(k, K)]!.toExponential(2);
    console.log(
      `${m.label}: ‖∂L/∂h_(T−k)‖ at k = 0: ${at(0)}, 10: ${at(10)}, 100: ${at(100)}, ${K}: ${
        at(K)
      }`,
    );
    // The bound, for cells with a single real recurrent matrix U.
    const cellName = m.cfg.cell;
    const complex = isComplex(cellName);
    const blocks = complex
      ? CELLS[cellName].unitary
      : cellName === "gru" || cellName === "ugru"
      ? ["U_r", "U_z", "U_n"]
      : cellName === "lstm"
      ? []
      : ["U"];
    for (const blk of blocks) {
      const u = (await m.params[`layer0/${blk}`]!.data()) as Float32Array;
      // A complex W's eigenvalues are its real block φ(W)'s, each with its conjugate.
      const mod = complex
        ? eigenModuli(realBlock(u, m.cfg.hiddenSize / 2), m.cfg.hiddenSize)
        : eigenModuli(u, m.cfg.hiddenSize);
      const lo = Math.min(...mod), hi = Math.max(...mod);
      if (blk === "U" && !complex) {
        const [a, b] = derivativeRange(m.cfg.activation, m.cfg.leakySlope);
        console.log(
          `  ${blk}: |eigenvalues| in [${lo.toFixed(4)}, ${
            hi.toFixed(4)
          }]; σ' in [${a}, ${b}]; bound at t = ${K}: ` +
            `${((a * lo) ** K).toExponential(2)} ≲ ‖∂h_t/∂h_0‖ ≲ ${
              ((b * hi) ** K).toExponential(2)
            } (up to constants)`,
        );
      } else console.log(`  ${blk}: |eigenvalues| in [${lo.toFixed(4)}, ${hi.toFixed(4)}]`);
    }
  }
  const out = await reportDir({
    command: "gradflow",
    committed: join("reports", "gradflow"),
    replace: f.replace,
    out: f.out,
  });
  await mkdir(out, { recursive: true });
  await writeFile(
    join(out, "gradflow.json"),
    JSON.stringify({ k: K, batch: B, batches: nb, norms: table }, null, 1) + "\n",
  );
  const points = Object.entries(table).flatMap(([series, ys]) =>
    ys.map((y, x) => ({ x, y: Math.max(y, 1e-30), series }))
  );
  const svg = await lineChartSvg({
    title: "Gradient norm ‖∂L_T/∂h_(T−k)‖ by distance in time",
    xTitle: "k (steps back in time)",
    yTitle: "mean gradient norm (log scale)",
    logY: true,
    points,
  });
  await writeFile(join(out, "gradflow.svg"), svg);
  console.log(`wrote ${join(out, "gradflow.json")} and ${join(out, "gradflow.svg")}`);
}

if (import.meta.main) runCli(() => gradflow(Deno.args));
