/**
 * The training loop: truncated BPTT over the PTB batch layout, the hidden state carried
 * across windows (and detached), checkpoints, drift checks, LR decay on plateau.
 */
import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import {
  disposeState,
  type ModelState,
  orthogonalParams,
  type Params,
  zeroState,
} from "../shared/model.ts";
import { batchify, window } from "../shared/ptb.ts";
import { scoreStreamAsync } from "../shared/perplexity.ts";
import { createPrng } from "../shared/prng.ts";
import { createGradEngine } from "./grad_pool.ts";
import { applyStep, initOptState, type OptimizerConfig, type OptState } from "./optimizer.ts";
import { orthogonalityDrift, orthogonalityDrifts, reorthogonalize } from "./orthogonal.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { Corpus } from "./corpus.ts";
import type { TrainConfig } from "./train_config.ts";
import { formatDuration, progressLine } from "./progress.ts";

export interface EpochRecord {
  epoch: number;
  trainPpl: number;
  validPpl: number;
  seconds: number;
  lr: number;
}

/** Everything besides tensors that a checkpoint needs to continue exactly. */
export interface TrainState {
  epoch: number;
  /** Next window's start column within the epoch. */
  position: number;
  step: number;
  lr: number;
  lrOrth: number;
  bestValid: number;
  prng: number[];
  seconds: number;
  tokens: number;
  reorths: number;
  history: EpochRecord[];
}

export interface CheckpointHeader {
  format: "rotor-checkpoint";
  version: 1;
  model: ModelConfig;
  train: TrainConfig;
  state: TrainState;
}

export interface TrainResult {
  params: Params;
  state: TrainState;
  stopped: "done" | "time" | "steps" | "interrupted" | "dry-run";
  tokensPerSecond: number;
}

class NonFiniteLoss extends Error {}

let variableSerial = 0;

export interface LoopOptions {
  cfg: TrainConfig;
  model: ModelConfig;
  corpus: Corpus;
  dir: string;
  /** Initial parameters (fresh, or from a checkpoint). */
  params: Params;
  resume?: { state: TrainState; tensors: Record<string, Tensor> };
  /** Set by the caller (e.g. on SIGINT) to stop at the next batch boundary with a checkpoint. */
  stopRequested: () => boolean;
}

function optConfig(cfg: TrainConfig): OptimizerConfig {
  return {
    kind: cfg.optimizer,
    orthKind: cfg.orthOptimizer,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    clip: cfg.clip,
  };
}

function stateTensors(s: ModelState): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  s.forEach((l, i) => {
    out[`state/${i}/h`] = l.h;
    if (l.c) out[`state/${i}/c`] = l.c;
  });
  return out;
}

export async function loadResume(dir: string) {
  const ck = await readCheckpoint<CheckpointHeader>(join(dir, "checkpoint.bin"));
  if (ck.header.format !== "rotor-checkpoint" || ck.header.version !== 1) {
    throw new Error(`"${dir}/checkpoint.bin" has an unknown checkpoint format or version`);
  }
  return ck;
}

/** Train until the epochs, the time budget or the step budget run out. */
export async function trainLoop(o: LoopOptions): Promise<TrainResult> {
  const { cfg, model, corpus, dir } = o;
  const dry = cfg.dryRun;
  const orth = new Set(orthogonalParams(model));
  const vars: Record<string, Variable> = {};
  for (const [k, v] of Object.entries(o.params)) {
    vars[k] = tf.variable(v, true, `${k}#${variableSerial++}`);
  }
  const opt: OptState = initOptState();
  // JSON has no Infinity: a checkpoint taken before the first validation stores bestValid as
  // null, which must come back as "no best yet".
  const resumed = o.resume &&
    { ...o.resume.state, bestValid: o.resume.state.bestValid ?? Infinity };
  const st: TrainState = resumed || {
    epoch: 0,
    position: 0,
    step: 0,
    lr: cfg.lr,
    lrOrth: cfg.lrOrth || cfg.lr / 10,
    bestValid: Infinity,
    prng: createPrng(cfg.seed ^ 0x5eed).state(),
    seconds: 0,
    tokens: 0,
    reorths: 0,
    history: [],
  };
  const prng = createPrng(st.prng);
  const batches = batchify(corpus.train, cfg.batch);
  const engine = await createGradEngine(model, cfg.batch, cfg.workers, cfg.dropout, prng, o.params);
  if (o.resume) {
    opt.step = st.step;
    for (const [k, t] of Object.entries(o.resume.tensors)) {
      if (k.startsWith("m/")) opt.m[k.slice(2)] = t;
      else if (k.startsWith("v/")) opt.v[k.slice(2)] = t;
    }
    const saved = zeroState(model, cfg.batch).map((l, i) => ({
      h: (o.resume!.tensors[`state/${i}/h`] as Tensor2D) ?? l.h,
      ...(l.c ? { c: (o.resume!.tensors[`state/${i}/c`] as Tensor2D) ?? l.c } : {}),
    }));
    await engine.setState(saved);
  }
  try {
    return await loop();
  } finally {
    engine.close();
  }

  async function loop(): Promise<TrainResult> {
    await mkdir(dir, { recursive: true });
    const metricsPath = join(dir, "metrics.jsonl");
    const log = (rec: Record<string, unknown>) =>
      appendFile(metricsPath, JSON.stringify(rec) + "\n");

    const checkpoint = async () => {
      // A step can blow the weights up before any loss shows it: never save such weights
      // over the last good checkpoint.
      const finite = tf.tidy(() =>
        tf.stack(Object.values(vars).map((v) => tf.all(tf.isFinite(v)))).cast("int32")
      );
      const flags = await finite.data(); // one read for every parameter
      finite.dispose();
      const bad = Object.keys(vars).find((_, i) => flags[i] !== 1);
      if (bad) {
        throw new NonFiniteLoss(
          `Parameter "${bad}" became non-finite after step ${st.step}; stopping. The last good ` +
            `checkpoint in "${dir}" is kept: resume it with a lower --lr or a tighter --clip`,
        );
      }
      st.prng = prng.state();
      const hidden = await engine.getState();
      const tensors: Record<string, Tensor> = { ...stateTensors(hidden) };
      for (const [k, v] of Object.entries(vars)) tensors[`param/${k}`] = v;
      for (const [k, v] of Object.entries(opt.m)) tensors[`m/${k}`] = v;
      for (const [k, v] of Object.entries(opt.v)) tensors[`v/${k}`] = v;
      const header: CheckpointHeader = {
        format: "rotor-checkpoint",
        version: 1,
        model,
        train: cfg,
        state: st,
      };
      await writeCheckpoint(join(dir, "checkpoint.bin"), { header, tensors });
      disposeState(hidden);
    };

    const params = () => vars as unknown as Params;
    const validate = (stream: Int32Array) =>
      scoreStreamAsync(params(), model, dry ? stream.subarray(0, 200) : stream, {
        batch: 10,
        bptt: 35,
      });

    const windowsPerEpoch = Math.ceil((batches.n - 1) / cfg.bptt);
    const totalSteps = cfg.maxSteps > 0 ? cfg.maxSteps : cfg.epochs * windowsPerEpoch;
    const t0 = performance.now() - st.seconds * 1000;
    let lastCkpt = performance.now();
    let runTokens = 0;
    const runStart = performance.now();
    let stopped: TrainResult["stopped"] = "done";
    let lossSum = 0, lossCount = 0, epochLossSum = 0, epochLossCount = 0;

    outer: while (st.epoch < cfg.epochs) {
      const epochStart = performance.now();
      while (st.position < batches.n - 1) {
        if (o.stopRequested()) {
          stopped = "interrupted";
          break outer;
        }
        if (cfg.maxSteps > 0 && st.step >= cfg.maxSteps) {
          stopped = "steps";
          break outer;
        }
        if (cfg.maxMinutes > 0 && (performance.now() - runStart) / 60000 >= cfg.maxMinutes) {
          stopped = "time";
          break outer;
        }
        if (dry && st.step >= 3) {
          stopped = "dry-run";
          break outer;
        }
        const w = window(batches, st.position, cfg.bptt);
        const lr = st.lr, lrOrth = st.lrOrth;
        const { loss, grads } = await engine.step(vars, w.x, w.y, w.len);
        const gradNorm = Number.isFinite(loss)
          ? await applyStep(vars, grads, orth, optConfig(cfg), opt, lr, lrOrth)
          : NaN;
        Object.values(grads).forEach((g) => g.dispose());
        if (!Number.isFinite(loss)) {
          throw new NonFiniteLoss(
            `Loss became ${loss} at step ${st.step + 1} (epoch ${
              st.epoch + 1
            }); stopping. The last good checkpoint ` +
              `in "${dir}" is kept: resume it with a lower --lr or a tighter --clip`,
          );
        }
        st.step++;
        st.position += w.len;
        const ntok = cfg.batch * w.len;
        st.tokens += ntok;
        runTokens += ntok;
        lossSum += loss * ntok;
        lossCount += ntok;
        epochLossSum += loss * ntok;
        epochLossCount += ntok;

        let drift: number | undefined;
        if (orth.size > 0 && (st.step % cfg.orthCheckEvery === 0 || dry)) {
          const names = [...orth];
          const drifts = await orthogonalityDrifts(names.map((n) => vars[n] as Tensor2D));
          drift = Math.max(...drifts);
          for (const [i, name] of names.entries()) {
            const v = vars[name]!;
            const d = drifts[i]!;
            if (d > cfg.orthTol) {
              const fixed = reorthogonalize(v as Tensor2D);
              v.assign(fixed);
              fixed.dispose();
              const after = await orthogonalityDrift(v as Tensor2D);
              st.reorths++;
              await log({ type: "reorth", step: st.step, param: name, before: d, after });
              progressLine(
                `re-orthogonalised ${name} at step ${st.step}: drift ${d.toExponential(2)} → ${
                  after.toExponential(2)
                }`,
                true,
              );
            }
          }
        }
        const elapsed = (performance.now() - runStart) / 1000;
        const tokS = runTokens / elapsed;
        if (st.step % cfg.logEvery === 0 || dry) {
          const avg = lossSum / lossCount;
          await log({
            type: "batch",
            step: st.step,
            epoch: st.epoch + 1,
            loss: avg,
            ppl: Math.exp(avg),
            tokens_per_s: tokS,
            grad_norm: gradNorm,
            ...(drift !== undefined ? { orth_drift: drift } : {}),
            lr,
            lr_orth: lrOrth,
            t: (performance.now() - t0) / 1000,
          });
          const eta = (totalSteps - st.step) *
            (elapsed / Math.max(1, runTokens / (cfg.batch * cfg.bptt)));
          progressLine(
            `epoch ${st.epoch + 1}/${cfg.epochs} | step ${st.step}/${totalSteps} | loss ${
              avg.toFixed(3)
            } | ` +
              `ppl ${Math.exp(avg).toFixed(1)} | ${tokS.toFixed(0)} tok/s | ‖g‖ ${
                gradNorm.toFixed(2)
              } | ETA ${formatDuration(eta)}`,
          );
          lossSum = 0;
          lossCount = 0;
        }
        const byTime = (performance.now() - lastCkpt) / 60000 >= cfg.checkpointMinutes;
        const bySteps = cfg.checkpointEvery > 0 && st.step % cfg.checkpointEvery === 0;
        if (byTime || bySteps) {
          st.seconds = (performance.now() - t0) / 1000;
          await checkpoint();
          lastCkpt = performance.now();
        }
      }
      // End of epoch: validate, decay the learning rate on a plateau, checkpoint.
      const valid = (await validate(corpus.valid)).perplexity;
      const trainPpl = Math.exp(epochLossSum / Math.max(1, epochLossCount));
      const rec: EpochRecord = {
        epoch: st.epoch + 1,
        trainPpl,
        validPpl: valid,
        seconds: (performance.now() - epochStart) / 1000,
        lr: st.lr,
      };
      st.history.push(rec);
      await log({
        type: "epoch",
        ...rec,
        train_ppl: trainPpl,
        valid_ppl: valid,
        time: rec.seconds,
      });
      progressLine(
        `epoch ${rec.epoch} done: train ppl ${trainPpl.toFixed(1)}, valid ppl ${
          valid.toFixed(2)
        }, ${formatDuration(rec.seconds)}`,
        true,
      );
      if (valid < st.bestValid) {
        st.bestValid = valid;
        await saveBest(vars, dir);
      } else {
        st.lr *= cfg.lrDecay;
        st.lrOrth *= cfg.lrDecay;
        progressLine(
          `validation did not improve: lr → ${st.lr.toExponential(2)}, lr-orth → ${
            st.lrOrth.toExponential(2)
          }`,
          true,
        );
      }
      epochLossSum = 0;
      epochLossCount = 0;
      st.epoch++;
      st.position = 0;
      await engine.reset();
      st.seconds = (performance.now() - t0) / 1000;
      await checkpoint();
      lastCkpt = performance.now();
    }
    st.seconds = (performance.now() - t0) / 1000;
    if (stopped !== "done") await checkpoint();
    const out: Params = {};
    for (const [k, v] of Object.entries(vars)) out[k] = v;
    return {
      params: out,
      state: st,
      stopped,
      tokensPerSecond: runTokens / ((performance.now() - runStart) / 1000),
    };
  }
}

/** The best-so-far parameters (by validation perplexity), for the final model folder. */
async function saveBest(vars: Record<string, Variable>, dir: string): Promise<void> {
  await writeCheckpoint(join(dir, "best.bin"), {
    header: { format: "rotor-best" },
    tensors: { ...vars },
  });
}

export { NonFiniteLoss };
