/**
 * `deno task bench:step`: time per training batch (B = 20, T = --bptt, H = 256, V = 10,000)
 * for each cell — forward + backward alone, and the whole step with clipping, Adam and the
 * orthogonal Lie-group step — beside the GFLOPS of a plain [B·T×256]·[256×10000] matMul
 * measured in the same run. Cells are timed round-robin and the median is reported, so a
 * change in the machine's load during the run hits every cell alike.
 */
import { z } from "zod";
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import { BACKENDS, initBackend } from "../shared/backend.ts";
import { CELL_KINDS, type CellKind, parseModelConfig } from "../shared/config.ts";
import { forwardLoss, initParams, orthogonalParams, zeroState } from "../shared/model.ts";
import { applyStep, initOptState } from "./optimizer.ts";
import { helpText, parseFlags, runCli } from "./flags.ts";

const USAGE = "usage: deno task bench:step [flags]";
const FLAGS = {
  backend: { schema: z.enum(BACKENDS).default("wasm"), help: "TensorFlow.js backend" },
  reps: { schema: z.number().int().min(1).default(5), help: "Timed repetitions per cell" },
  bptt: { schema: z.number().int().min(1).default(35), help: "Time steps per batch" },
  hidden: { schema: z.number().int().min(1).default(256), help: "Hidden units" },
  cells: { schema: z.string().default("rnn,urnn,gru,ugru,lstm"), help: "Cells to time" },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, FLAGS));
  const chosen = await initBackend(f.backend);
  const B = 20, T = f.bptt, H = f.hidden, V = 10000;
  const cells = f.cells.split(",").map((c) => z.enum(CELL_KINDS).parse(c) as CellKind);

  const a = tf.randomNormal([B * T, H]) as Tensor2D, b = tf.randomNormal([H, V]) as Tensor2D;
  const mmTimes: number[] = [];
  for (let i = 0; i <= f.reps; i++) {
    const t0 = performance.now();
    tf.tidy(() => void tf.matMul(a, b).dataSync());
    if (i > 0) mmTimes.push(performance.now() - t0);
  }
  const mm = median(mmTimes);
  console.log(
    `backend ${chosen.name}; matMul [${B * T}×${H}]·[${H}×${V}]: ${mm.toFixed(1)} ms = ${
      ((2 * B * T * H * V) / mm / 1e6).toFixed(1)
    } GFLOPS`,
  );

  const setups = cells.map((cell) => {
    const cfg = parseModelConfig({
      cell,
      activation: "tanh",
      vocabSize: V,
      embedSize: H,
      hiddenSize: H,
    });
    const vars: Record<string, Variable> = {};
    for (const [k, v] of Object.entries(initParams(cfg, 1))) {
      vars[k] = tf.variable(v, true, `bench/${cell}/${k}`);
    }
    const x = tf.randomUniformInt([B, T], 0, V) as Tensor2D,
      y = tf.randomUniformInt([B, T], 0, V) as Tensor2D;
    const grads = () => {
      const { grads } = tf.variableGrads(
        () => forwardLoss(vars, cfg, x, y, zeroState(cfg, B)).loss as tf.Scalar,
        Object.values(vars),
      );
      const byName: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(vars)) byName[k] = grads[v.name]!;
      return byName;
    };
    const opt = initOptState();
    const orth = new Set(orthogonalParams(cfg));
    const optCfg = {
      kind: "adam" as const,
      orthKind: "adam" as const,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      clip: 1,
    };
    return {
      cell,
      fwdBwd: () => tf.tidy(() => Object.values(grads()).forEach((g) => g.dataSync())),
      step: () =>
        tf.tidy(() =>
          void (applyStep(vars, grads(), orth, optCfg, opt, 1e-3, 1e-4), vars.embedding!.dataSync())
        ),
      times: { fwdBwd: [] as number[], step: [] as number[] },
    };
  });
  for (let i = 0; i <= f.reps; i++) {
    for (const s of setups) {
      for (const kind of ["fwdBwd", "step"] as const) {
        const t0 = performance.now();
        s[kind]();
        if (i > 0) s.times[kind].push(performance.now() - t0); // rep 0 warms up
      }
    }
  }
  const rows = setups.map((s) => ({
    cell: s.cell,
    fwdBwd: median(s.times.fwdBwd),
    step: median(s.times.step),
  }));
  for (const r of rows) {
    console.log(
      `${r.cell.padEnd(5)} forward+backward ${r.fwdBwd.toFixed(1)} ms/batch, whole step ${
        r.step.toFixed(1)
      } ms/batch (${((B * T) / (r.step / 1000)).toFixed(0)} tokens/s)`,
    );
  }
  const find = (c: string) => rows.find((r) => r.cell === c);
  for (const [u, p] of [["urnn", "rnn"], ["ugru", "gru"]] as const) {
    const ur = find(u), pr = find(p);
    if (ur && pr) {
      console.log(
        `${u} vs ${p}: whole step ${
          ((ur.step / pr.step - 1) * 100).toFixed(1)
        } % (forward+backward alone ${((ur.fwdBwd / pr.fwdBwd - 1) * 100).toFixed(1)} %)`,
      );
    }
  }
}

if (import.meta.main) runCli(() => main(Deno.args));
