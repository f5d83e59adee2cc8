/**
 * reports/toy.md from saved sweeps: tables in the poster's layout (models × lengths) with
 * rotor's numbers beside the poster's, the baselines, each run's budget and wall time, and
 * the learning curves as SVG.
 */
import type { CellKind } from "../../shared/config.ts";
import { formatDuration } from "../../trainer/progress.ts";
import { lineChartSvg } from "../plot.ts";
import type { SweepKind, ToyFlags } from "./flags.ts";
import type { ToyMetrics, ToyResult } from "./run.ts";
import type { TaskKind } from "./tasks.ts";

export interface SweepRecord {
  sweep: SweepKind;
  command: string;
  flags: ToyFlags;
  totalSeconds: number;
  /** Runs whose saved results an earlier invocation of the same sweep made. */
  reused?: number;
  results: ToyResult[];
}

/** The poster's held-out accuracy (%), by task, model and length. */
export const POSTER: Partial<Record<TaskKind, Partial<Record<CellKind, Record<number, number>>>>> =
  {
    first: { rnn: { 20: 10.22, 50: 10.56, 100: 0.936 }, urnn: { 20: 99.98, 50: 100, 100: 100 } },
    kth: {
      rnn: { 100: 38.12, 200: 34.15, 400: 15.23 },
      urnn: { 100: 92.01, 200: 80.45, 400: 56.73 },
    },
  };

const NAMES: Record<CellKind, string> = {
  rnn: "RNN",
  urnn: "uRNN",
  gru: "GRU",
  ugru: "uGRU",
  lstm: "LSTM",
  curnn: "cuRNN",
  cugru: "cuGRU",
};

const TITLES: Record<TaskKind, string> = {
  first: "first-term recall",
  kth: "k-th highest",
  copy: "copy",
  adding: "adding",
};

/** The headline number of a run's metrics, as the report prints it. */
export function headline(task: TaskKind, m: ToyMetrics): number {
  if (task === "copy") return m.crossEntropy!;
  if (task === "adding") return m.mse!;
  return 100 * m.accuracy!;
}

const pct = (x: number) => (x >= 99.995 ? "100.00" : x.toFixed(2));
const num = (x: number) => (x < 0.001 || x >= 1e4 ? x.toExponential(2) : x.toFixed(4));
const fmt = (task: TaskKind, x: number) => (task === "first" || task === "kth" ? pct(x) : num(x));

/** A run's headline as the tables print it; a diverged run says so instead of a number. */
function resultCell(r: ToyResult): string {
  return r.diverged
    ? `diverged (step ${r.diverged.step})`
    : fmt(r.task.task, headline(r.task.task, r.metrics));
}

function lengthsOf(results: ToyResult[], task: TaskKind): number[] {
  return [...new Set(results.filter((r) => r.task.task === task).map((r) => r.task.length))]
    .sort((a, b) => a - b);
}

function cellsOf(results: ToyResult[]): CellKind[] {
  return [...new Set(results.map((r) => r.model.cell))];
}

function find(results: ToyResult[], task: TaskKind, cell: CellKind, length: number) {
  return results.find((r) =>
    r.task.task === task && r.model.cell === cell && r.task.length === length
  );
}

/** One task's table: a row per model (the poster's row above rotor's), a baseline row. */
function taskTable(results: ToyResult[], task: TaskKind): string {
  const lengths = lengthsOf(results, task);
  if (lengths.length === 0) return "";
  const head = `| ${TITLES[task]}, ${task === "first" || task === "kth" ? "L" : "T"} | ${
    lengths.join(" | ")
  } |\n|---|${lengths.map(() => "---").join("|")}|`;
  const rows: string[] = [];
  for (const cell of cellsOf(results)) {
    const poster = POSTER[task]?.[cell];
    if (poster) {
      rows.push(
        `| ${NAMES[cell]} (poster) | ${lengths.map((l) => poster[l] ?? "–").join(" | ")} |`,
      );
    }
    const ours = lengths.map((l) => {
      const r = find(results, task, cell, l);
      return r ? resultCell(r) : "–";
    });
    rows.push(`| **${NAMES[cell]} (rotor)** | ${ours.join(" | ")} |`);
  }
  const base = lengths.map((l) => {
    const r = results.find((x) => x.task.task === task && x.task.length === l)!;
    const b = r.baseline;
    if (task === "copy") return num(b.crossEntropy!);
    if (task === "adding") return num(b.mse!);
    return pct(100 * b.majority!);
  });
  rows.push(
    `| majority baseline${task === "copy" || task === "adding" ? " (formula)" : ""} | ${
      base.join(" | ")
    } |`,
  );
  if (task === "copy") {
    for (const cell of cellsOf(results)) {
      const rec = lengths.map((l) => {
        const r = find(results, task, cell, l);
        return r ? pct(100 * r.metrics.recallAccuracy!) : "–";
      });
      rows.push(`| ${NAMES[cell]} (rotor), recalled symbols correct % | ${rec.join(" | ")} |`);
    }
  }
  return `${head}\n${rows.join("\n")}\n`;
}

const UNITS: Record<TaskKind, string> = {
  first: "held-out accuracy, %; K = 10, chance 10 %",
  kth: "held-out accuracy, %; values 1…100, k = 3",
  copy: "held-out cross-entropy per output step, nats; baseline 10·log 8/(T+20)",
  adding: "held-out mean squared error; baseline 0.167 (always answer 1)",
};

/** Was the training-batch metric still improving over the last quarter of the run? */
function trend(r: ToyResult): string {
  const c = r.curve;
  if (c.length < 4) return "–";
  const y = (p: ToyMetrics) => headline(r.task.task, p);
  const a = y(c[Math.floor((c.length * 3) / 4) - 1]!), b = y(c[c.length - 1]!);
  const better = r.task.task === "first" || r.task.task === "kth" ? b - a : a - b;
  const scale = r.task.task === "first" || r.task.task === "kth"
    ? 1
    : Math.max(Math.abs(a), 1e-9) * 0.02;
  return better > scale ? "rising" : better < -scale ? "falling" : "flat";
}

function runsTable(results: ToyResult[]): string {
  const head = "| task | length | cell | σ | hidden | steps × batch | held-out | result | " +
    "last quarter | train | eval |\n|---|---|---|---|---|---|---|---|---|---|---|";
  const rows = results.map((r) => {
    const t = r.task.task;
    const c = r.model.cell;
    const act = c === "rnn" || c === "urnn" || c === "curnn" ? r.model.activation : "–";
    return `| ${t} | ${r.task.length} | ${r.model.cell} | ${act} | ${r.model.hidden} | ${r.train.steps} × ${r.train.batch} | ${r.heldOut} | ${
      resultCell(r)
    } | ${trend(r)} | ${formatDuration(r.trainSeconds)} | ${formatDuration(r.evalSeconds)} |`;
  });
  return `${head}\n${rows.join("\n")}\n`;
}

/** Where rotor's row is below the poster's, by how much. */
function differences(results: ToyResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    const p = POSTER[r.task.task]?.[r.model.cell]?.[r.task.length];
    if (p === undefined) continue;
    const where = `${NAMES[r.model.cell]}, ${TITLES[r.task.task]}, L = ${r.task.length}`;
    if (r.diverged) {
      out.push(
        `${where}: diverged — the training loss became ${r.diverged.loss} at step ` +
          `${r.diverged.step} of ${r.train.steps} (poster ${p} %)`,
      );
      continue;
    }
    const ours = headline(r.task.task, r.metrics);
    const word = ours + 0.5 < p ? "below" : ours > p + 0.5 ? "above" : "level with";
    const majority = r.baseline?.majority;
    // A model that answers the most common value every time has learned nothing: say so.
    const trivial = majority !== undefined && ours <= 100 * majority + 0.5
      ? ` — no better than always answering the most common value (${pct(100 * majority)} %)`
      : "";
    out.push(
      `${where}: rotor ${
        pct(ours)
      } % vs poster ${p} % (${word})${trivial} after ${r.train.steps} steps; training-batch ` +
        `accuracy over the last quarter: ${trend(r)}`,
    );
  }
  return out;
}

function budget(s: SweepRecord): string {
  const f = s.flags;
  return `every run: ${f.steps} steps of ${f.batch} fresh sequences, hidden ${f.hidden}, σ = ${f.activation} ` +
    `(rnn/urnn), ${f.optimizer} lr ${f.lr}, orthogonal step ${f.orthOptimizer} lr ${
      f.lrOrth || f.lr
    }, clip ${f.clip}, ` +
    `recurrent init ${f.recurrentInit ?? "haar (urnn, ugru) / uniform (others)"}, ` +
    (f.readout === "mlp" ? `read-out MLP (${f.readoutHidden || f.hidden} ReLU units), ` : "") +
    `seed ${f.seed}; evaluated on ${f.heldOut} held-out sequences per (task, length)` +
    (f.skip ? `; left out of the grid (not run): ${f.skip}` : "");
}

/** The whole report. */
export function renderReport(records: SweepRecord[]): string {
  const parts: string[] = [
    "# Long-memory toy tasks\n",
    "Written by `deno task toy --sweep …` (research/toy/); do not edit by hand. Numbers are " +
    "measured by rotor on the run's backend; rows marked (poster) are the poster's. Results " +
    "are held-out metrics on a fixed set drawn from a seed stream (and a hash split) disjoint " +
    'from the training batches. "last quarter" says whether the accuracy (or loss) on the ' +
    "fresh training batches was still improving over the last quarter of the steps.\n",
  ];
  for (const s of records) {
    const tasks = [...new Set(s.results.map((r) => r.task.task))];
    parts.push(`## Sweep "${s.sweep}"\n`);
    parts.push(
      `Command: \`${s.command}\`\n\nBudget: ${budget(s)}. Total compute: ${
        formatDuration(s.results.reduce((a, r) => a + r.trainSeconds + r.evalSeconds, 0))
      } (the runs' own train and eval time; ${s.results.length} runs, ${
        s.flags.jobs ?? 1
      } at a time, one core each, backend ${s.results[0]?.backend ?? "?"}; ${
        s.reused
          ? `${s.reused} of them saved by an earlier invocation of this sweep and reused`
          : `${formatDuration(s.totalSeconds)} of wall time`
      }).\n`,
    );
    for (const t of tasks) {
      parts.push(`### ${TITLES[t]} (${UNITS[t]})\n`);
      parts.push(taskTable(s.results, t));
      parts.push(`![${TITLES[t]} learning curves](toy-${t}.svg)\n`);
    }
    const diff = differences(s.results);
    if (diff.length) {
      parts.push("### Against the poster\n");
      parts.push(
        "Every rotor run above stopped at the sweep's step budget, which is far below a full " +
          "training run; a row below the poster's whose training accuracy was still rising over " +
          "the last quarter is limited by that budget first. Where the majority baseline is above " +
          "the poster's number, the poster's generator must have differed from this one.\n",
      );
      parts.push(diff.map((d) => `- ${d}`).join("\n") + "\n");
    }
    parts.push("### Runs\n");
    parts.push(runsTable(s.results));
  }
  return parts.join("\n");
}

/** Learning curves of one task in a sweep: the training-batch metric against steps. */
export function curvesSvg(s: SweepRecord, task: TaskKind): Promise<string> {
  const points = s.results.filter((r) => r.task.task === task).flatMap((r) =>
    r.curve.map((p) => ({
      x: p.step,
      y: headline(task, p),
      series: `${NAMES[r.model.cell]} ${
        task === "first" || task === "kth" ? "L" : "T"
      }=${r.task.length}`,
    }))
  );
  const y = task === "copy"
    ? "cross-entropy (nats)"
    : task === "adding"
    ? "mean squared error"
    : "accuracy (%)";
  return lineChartSvg({
    title: `${TITLES[task]}: fresh training batches`,
    xTitle: "step",
    yTitle: y,
    logY: task === "copy" || task === "adding",
    points,
  });
}
