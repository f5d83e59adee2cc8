/**
 * The training loop: truncated BPTT over the PTB batch layout, the hidden state carried
 * across windows (and detached), checkpoints, drift checks, LR decay on plateau.
 *
 * One step reads: stop? → prepare the window → gradients and the optimizer step → count →
 * drift check → log → checkpoint; one epoch ends with validate → decay or keep the best →
 * checkpoint. The steps stay in one file so the loop reads top to bottom; what they share is
 * in train_run.ts, what they log in train_log.ts.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { tf } from "../shared/tf.ts";
import type { Tensor, Tensor2D, Variable } from "../shared/tf.ts";
import type { ModelConfig } from "../shared/config.ts";
import { orthogonalParams, type Params, unitaryParams, zeroState } from "../shared/model.ts";
import { batchify, window } from "../shared/ptb.ts";
import { scoreStreamAsync } from "../shared/perplexity.ts";
import { createPrng } from "../shared/prng.ts";
import { createGradEngine, type GradEngine } from "./grad_pool.ts";
import {
  ADAM_DEFAULTS,
  applyStepOnDevice,
  defaultExpmPlan,
  initOptState,
  type OptState,
} from "./optimizer.ts";
import { evalOptionsOf } from "./train_config.ts";
import { formatDuration, progressLine } from "./progress.ts";
import { checkDrift, logInterval, logReorth, readTally } from "./train_log.ts";
import type { LoopOptions, Run } from "./train_run.ts";
import { DeviceTally, inputGradNorms, Tally } from "./train_tally.ts";
import { appendLine, NODE_IO } from "./run_files.ts";
import {
  type EpochRecord,
  initialState,
  saveBest,
  saveCheckpoint,
  type TrainResult,
  type TrainState,
} from "./train_state.ts";

export type { LoopOptions } from "./train_run.ts";
export type { CheckpointHeader, EpochRecord, TrainResult, TrainState } from "./train_state.ts";
export { loadResume, NonFiniteLoss } from "./train_state.ts";

let variableSerial = 0;

/** Train until the epochs, the time budget or the step budget run out. */
export async function trainLoop(o: LoopOptions): Promise<TrainResult> {
  const { cfg, model, corpus, dir } = o;
  const vars: Record<string, Variable> = {};
  for (const [k, v] of Object.entries(o.params)) {
    vars[k] = tf.variable(v, true, `${k}#${variableSerial++}`);
  }
  // JSON has no Infinity: a checkpoint taken before the first validation stores bestValid as
  // null, which must come back as "no best yet".
  const st: TrainState = o.resume
    ? { ...o.resume.state, bestValid: o.resume.state.bestValid ?? Infinity }
    : initialState(cfg, createPrng(cfg.seed ^ 0x5eed).state());
  const prng = createPrng(st.prng);
  const batches = batchify(corpus.train, cfg.batch);
  const engine = await createGradEngine(
    model,
    cfg.batch,
    cfg.workers,
    cfg.dropout,
    prng,
    o.params,
    cfg.recurrence,
  );
  const opt = initOptState();
  if (o.resume) await restoreTensors(o.resume.tensors, st, opt, engine, model, cfg.batch);
  let run: Run | undefined;
  try {
    await mkdir(dir, { recursive: true });
    const metricsPath = join(dir, "metrics.jsonl");
    const windowsPerEpoch = Math.ceil((batches.n - 1) / cfg.bptt);
    const now = performance.now();
    run = {
      o,
      vars,
      orth: new Set(orthogonalParams(model)),
      unitary: new Set(unitaryParams(model)),
      opt,
      st,
      prng,
      batches,
      engine,
      tally: new Tally(),
      device: new DeviceTally(),
      log: (rec) =>
        appendLine(
          metricsPath,
          JSON.stringify(rec) + "\n",
          `the run stops; "${join(dir, "checkpoint.bin")}" keeps the last good checkpoint`,
          o.io,
        ),
      totalSteps: cfg.maxSteps > 0 ? cfg.maxSteps : cfg.epochs * windowsPerEpoch,
      t0: now - st.seconds * 1000,
      runStart: now,
      runTokens: 0,
      lastCkpt: now,
    };
    const stopped = await epochs(run);
    st.seconds = (performance.now() - run.t0) / 1000;
    if (stopped !== "done") await checkpoint(run);
    return {
      params: { ...vars } as unknown as Params,
      state: st,
      stopped,
      tokensPerSecond: run.runTokens / ((performance.now() - run.runStart) / 1000),
    };
  } finally {
    engine.close();
    run?.device.dispose();
  }
}

/** Adam's moments and the carried hidden state, from a checkpoint. */
async function restoreTensors(
  tensors: Record<string, Tensor>,
  st: TrainState,
  opt: OptState,
  engine: GradEngine,
  model: ModelConfig,
  batch: number,
) {
  opt.step = st.step;
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith("m/")) opt.m[k.slice(2)] = t;
    else if (k.startsWith("v/")) opt.v[k.slice(2)] = t;
  }
  const saved = zeroState(model, batch).map((l, i) => ({
    h: (tensors[`state/${i}/h`] as Tensor2D) ?? l.h,
    ...(l.c ? { c: (tensors[`state/${i}/c`] as Tensor2D) ?? l.c } : {}),
  }));
  await engine.setState(saved);
}

async function epochs(run: Run): Promise<TrainResult["stopped"]> {
  const { st, o } = run;
  while (st.epoch < o.cfg.epochs) {
    const epochStart = performance.now();
    while (st.position < run.batches.n - 1) {
      const stop = stopReason(run);
      if (stop) return stop;
      await trainStep(run);
      const drift = await checkDrift(run);
      if (drift.reorth) await logReorth(run, drift.reorth);
      if (st.step % o.cfg.logEvery === 0 || o.cfg.dryRun) await logInterval(run, drift.max);
      await maybeCheckpoint(run);
    }
    await endEpoch(run, epochStart);
  }
  return "done";
}

function stopReason(run: Run): TrainResult["stopped"] | undefined {
  const { cfg } = run.o;
  if (run.o.stopRequested()) return "interrupted";
  if (cfg.maxSteps > 0 && run.st.step >= cfg.maxSteps) return "steps";
  if (cfg.maxMinutes > 0 && (performance.now() - run.runStart) / 60000 >= cfg.maxMinutes) {
    return "time";
  }
  if (cfg.dryRun && run.st.step >= 3) return "dry-run";
  return undefined;
}

/**
 * Prepare the next window, take its gradients and one optimizer step, and count it. Nothing
 * is read back: the loss and the gradient norm are summed on the device and read by
 * `readTally` when the loop logs, checkpoints or ends an epoch (on a GPU a read waits for
 * all queued work); the embedding and input gradient norms are sampled on logged steps.
 */
async function trainStep(run: Run): Promise<void> {
  const { st, o } = run;
  const cfg = o.cfg;
  const w = window(run.batches, st.position, cfg.bptt);
  const lr = st.lr, lrOrth = st.lrOrth;
  // A state reset at every window bounds ‖h‖ for norm-preserving activations (|x| with an
  // orthogonal U) that otherwise grow along the whole epoch.
  if (cfg.stateReset === "window") await run.engine.reset();
  const { loss, grads } = await run.engine.stepOnDevice(run.vars, w.x, w.y, w.len);
  const logged = (st.step + 1) % cfg.logEvery === 0 || cfg.dryRun;
  const input = logged && grads["embedding"] ? inputGradNorms(grads) : undefined;
  const optConfig = {
    kind: cfg.optimizer,
    orthKind: cfg.orthOptimizer,
    ...ADAM_DEFAULTS,
    clip: cfg.clip,
    expmPlan: defaultExpmPlan(),
  };
  // No gradients: a gradient worker's loss was not finite (readTally stops the run).
  const gradNorm = Object.keys(grads).length
    ? await applyStepOnDevice(
      run.vars,
      grads,
      run.orth,
      optConfig,
      run.opt,
      lr,
      lrOrth,
      run.unitary,
    )
    : tf.scalar(NaN);
  Object.values(grads).forEach((g) => g.dispose());
  st.step++;
  st.position += w.len;
  const ntok = cfg.batch * w.len;
  st.tokens += ntok;
  run.runTokens += ntok;
  run.device.add(st.step, loss, ntok, gradNorm, input);
}

async function maybeCheckpoint(run: Run) {
  const { cfg } = run.o;
  const byTime = (performance.now() - run.lastCkpt) / 60000 >= cfg.checkpointMinutes;
  const bySteps = cfg.checkpointEvery > 0 && run.st.step % cfg.checkpointEvery === 0;
  if (byTime || bySteps) {
    run.st.seconds = (performance.now() - run.t0) / 1000;
    await checkpoint(run);
    run.lastCkpt = performance.now();
  }
}

/** Validate, keep the best parameters or halve the learning rates, and checkpoint. */
async function endEpoch(run: Run, epochStart: number) {
  await readTally(run);
  const { st, o, tally } = run;
  const stream = o.cfg.dryRun ? o.corpus.valid.subarray(0, 200) : o.corpus.valid;
  const valid =
    (await scoreStreamAsync(run.vars as unknown as Params, o.model, stream, evalOptionsOf(o.cfg)))
      .perplexity;
  const trainPpl = Math.exp(tally.epochLossSum / Math.max(1, tally.epochLossCount));
  const rec: EpochRecord = {
    epoch: st.epoch + 1,
    trainPpl,
    validPpl: valid,
    seconds: (performance.now() - epochStart) / 1000,
    lr: st.lr,
  };
  st.history.push(rec);
  await run.log({
    type: "epoch",
    ...rec,
    train_ppl: trainPpl,
    valid_ppl: valid,
    time: rec.seconds,
  });
  progressLine(
    `epoch ${rec.epoch} done: train ppl ${trainPpl.toFixed(1)}, valid ppl ${valid.toFixed(2)}, ${
      formatDuration(rec.seconds)
    }`,
    true,
  );
  if (valid < st.bestValid) {
    st.bestValid = valid;
    await saveBest(run.vars, o.dir, o.io ?? NODE_IO);
  } else {
    st.lr *= o.cfg.lrDecay;
    st.lrOrth *= o.cfg.lrDecay;
    progressLine(
      `validation did not improve: lr → ${st.lr.toExponential(2)}, lr-orth → ${
        st.lrOrth.toExponential(2)
      }`,
      true,
    );
  }
  tally.resetEpoch();
  st.epoch++;
  st.position = 0;
  await run.engine.reset();
  st.seconds = (performance.now() - run.t0) / 1000;
  await checkpoint(run);
  run.lastCkpt = performance.now();
}

/** Save parameters, moments, hidden state and counters (see train_state.ts). */
async function checkpoint(run: Run) {
  await readTally(run);
  run.st.prng = run.prng.state();
  await saveCheckpoint(run.o.dir, {
    model: run.o.model,
    cfg: run.o.cfg,
    st: run.st,
    vars: run.vars,
    opt: run.opt,
    hidden: await run.engine.getState(),
    io: run.o.io ?? NODE_IO,
  });
}
