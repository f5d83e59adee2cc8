/**
 * What a training run tells as it goes: the device's loss sums read back (stopping on a
 * non-finite loss), the drift check, and the log lines of metrics.jsonl with the progress line.
 */
import { checkAndRepair, type Reorth } from "./orthogonal.ts";
import { checkAndRepairUnitary } from "./unitary.ts";
import { formatDuration, progressLine } from "./progress.ts";
import { NonFiniteLoss } from "./train_state.ts";
import type { Run } from "./train_run.ts";

/**
 * Read the device's sums into the host tally, and stop the run if a loss was not finite:
 * before every log line, checkpoint and validation, so no checkpoint follows a blow-up.
 */
export async function readTally(run: Run): Promise<void> {
  const sums = await run.device.flush();
  if (!Number.isFinite(sums.lossSum)) {
    const where = sums.first === sums.last
      ? `at step ${sums.last}`
      : `between steps ${sums.first} and ${sums.last}`;
    throw new NonFiniteLoss(
      `Loss became ${sums.lossSum} ${where} (epoch ${run.st.epoch + 1}); stopping. The last ` +
        `good checkpoint in "${run.o.dir}" is kept: resume it with a lower --lr or a tighter --clip`,
    );
  }
  run.tally.addInterval(sums);
}

/** Every orthCheckEvery steps (and in dry runs): the drift check of orthogonal.ts. */
export async function checkDrift(run: Run): Promise<{ max?: number; reorth?: Reorth[] }> {
  const { cfg } = run.o;
  if (run.orth.size + run.unitary.size === 0) return {};
  if (!(run.st.step % cfg.orthCheckEvery === 0 || cfg.dryRun)) return {};
  const o = await checkAndRepair(run.vars, run.orth, cfg.orthTol);
  const u = await checkAndRepairUnitary(run.vars, run.unitary, cfg.orthTol);
  const max = Math.max(o.max, u.max), fixes = [...o.fixes, ...u.fixes];
  run.st.reorths += fixes.length;
  return { max, ...(fixes.length ? { reorth: fixes } : {}) };
}

export async function logReorth(run: Run, fixes: Reorth[]) {
  for (const f of fixes) {
    await run.log({ type: "reorth", step: run.st.step, ...f });
    progressLine(
      `re-orthogonalised ${f.param} at step ${run.st.step}: drift ${f.before.toExponential(2)} → ${
        f.after.toExponential(2)
      }`,
      true,
    );
  }
}

export async function logInterval(run: Run, drift: number | undefined) {
  await readTally(run);
  const { st, tally: t, o } = run;
  const elapsed = (performance.now() - run.runStart) / 1000;
  const tokS = run.runTokens / elapsed;
  const avg = t.lossSum / t.lossCount;
  const n = Math.max(1, t.gradCount), ni = Math.max(1, t.inputCount);
  await run.log({
    type: "batch",
    step: st.step,
    epoch: st.epoch + 1,
    tokens: st.tokens,
    loss: avg,
    ppl: Math.exp(avg),
    tokens_per_s: tokS,
    grad_norm: t.gradLast,
    grad_norm_mean: t.gradSum / n,
    grad_norm_max: t.gradMax,
    grad_norm_embedding: t.embedSum / ni,
    grad_norm_input: t.inputSum / ni,
    ...(drift !== undefined ? { orth_drift: drift } : {}),
    lr: st.lr,
    lr_orth: st.lrOrth,
    t: (performance.now() - run.t0) / 1000,
  });
  const eta = (run.totalSteps - st.step) *
    (elapsed / Math.max(1, run.runTokens / (o.cfg.batch * o.cfg.bptt)));
  progressLine(
    `epoch ${st.epoch + 1}/${o.cfg.epochs} | step ${st.step}/${run.totalSteps} | loss ${
      avg.toFixed(3)
    } | ppl ${Math.exp(avg).toFixed(1)} | ${tokS.toFixed(0)} tok/s | ‖g‖ ${
      t.gradLast.toFixed(2)
    } | ETA ${formatDuration(eta)}`,
  );
  t.resetInterval();
}
