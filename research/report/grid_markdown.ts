/**
 * The full-budget grid's part of reports/ptb.md: both tables at the stated budget, rows not
 * yet trained marked, and a verdict per comparison that counts a seed only where it settles.
 */
import { POSTER_ACTIVATION, POSTER_BPTT, type PosterPpl } from "./ptb_poster.ts";
import type { GridResults, GridRunResult } from "./grid_results.ts";
import { type GridRun, seedRows } from "./grid_rows.ts";

export const GRID_PLOT_FILES = {
  gradRnn: "ptb-grid-grad-rnn.svg",
  gradGru: "ptb-grid-grad-gru.svg",
  embedding: "ptb-grid-grad-embedding.svg",
  flowRnn: "ptb-grid-gradflow-rnn.svg",
  flowGru: "ptb-grid-gradflow-gru.svg",
} as const;

/** Test perplexities closer than this (relative) need a second seed to be called either way. */
export const CLOSE = 0.05;
const PTB_TRAIN_TOKENS = 929589;

const f2 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(2) : "–");
const ACT: Record<string, string> = { relu: "ReLU", abs: "|x|", leaky_relu: "leaky ReLU" };
const esc = (s: string) => s.replace(/\|/g, "\\|");
const hms = (s: number) => {
  const h = Math.floor(s / 3600), m = Math.round((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : `${m}m`;
};
const CELL: Record<string, string> = {
  rnn: "RNN",
  urnn: "uRNN",
  gru: "GRU",
  ugru: "uGRU",
  lstm: "LSTM",
};

export type Verdict =
  | { kind: "pending"; why: string }
  | { kind: "diverged"; ids: string[] }
  | { kind: "unresolved"; why: string }
  | { kind: "agrees" | "disagrees"; seeds: number; uBeats: boolean };

/**
 * The comparison of an orthogonal row with its ordinary twin: decided by seed 1 when the two
 * differ by at least 5 %, else only when seed 2 (of both) gives the same sign.
 */
export function compare(
  runs: GridRunResult[],
  uBase: string,
  pBase: string,
  poster: { u: PosterPpl; p: PosterPpl },
): Verdict {
  const of = (base: string, seed: number) => runs.find((r) => r.base === base && r.seed === seed);
  const u1 = of(uBase, 1), p1 = of(pBase, 1);
  if (!u1 || !p1 || u1.status === "running" || p1.status === "running") {
    return { kind: "pending", why: "seed 1 not trained yet" };
  }
  const diverged = [u1, p1].filter((r) => r.status === "diverged").map((r) => r.id);
  if (diverged.length > 0) return { kind: "diverged", ids: diverged };
  const posterU = poster.u.test < poster.p.test;
  const sign = (u: GridRunResult, p: GridRunResult) => u.testPpl! < p.testPpl!;
  const close = Math.abs(u1.testPpl! - p1.testPpl!) / Math.min(u1.testPpl!, p1.testPpl!) < CLOSE;
  const u2 = of(uBase, 2), p2 = of(pBase, 2);
  const seed2 = u2?.status === "done" && p2?.status === "done" ? [u2, p2] as const : undefined;
  if (close && !seed2) {
    return { kind: "unresolved", why: "within 5 % on seed 1; seed 2 not trained yet" };
  }
  if (seed2 && sign(...seed2) !== sign(u1, p1)) {
    return { kind: "unresolved", why: "the two seeds disagree on which is better" };
  }
  const uBeats = sign(u1, p1);
  return { kind: uBeats === posterU ? "agrees" : "disagrees", seeds: seed2 ? 2 : 1, uBeats };
}

/** The poster's comparisons the grid settles: orthogonal base id, unconstrained base id. */
export const COMPARISONS: readonly (readonly [string, string])[] = [
  ...(["relu", "abs", "leaky_relu"] as const).map((a) =>
    [`urnn-${a}-bptt35`, `rnn-${a}-bptt35`] as const
  ),
  ["urnn-abs-reset-bptt35", "rnn-abs-reset-bptt35"],
  ["ugru-bptt35", "gru-bptt35"],
  ["ugru-bptt150", "gru-bptt150"],
];

/**
 * Every seed-1 row finished and every comparison that needs a second seed has both: nothing
 * left for the grid to train, so the report can drop what the grid superseded.
 */
export function gridComplete(g: GridResults): boolean {
  const finished = (id: string) => g.runs.some((r) => r.id === id && r.status !== "running");
  if (!seedRows(1).every((r) => finished(r.id))) return false;
  // The poster's numbers only orient a verdict; any pair will do to ask whether it is settled.
  const any = { u: POSTER_BPTT.ugru[35]!, p: POSTER_BPTT.gru[35]! };
  return COMPARISONS.every(([u, p]) => {
    const v = compare(g.runs, u, p, any);
    return v.kind !== "pending" && !(v.kind === "unresolved" && v.why.includes("not trained"));
  });
}

function verdictLine(what: string, u: string, p: string, v: Verdict, poster: PosterPpl[]): string {
  const posterSays = poster[0]!.test < poster[1]!.test ? `${u} beats ${p}` : `${p} beats ${u}`;
  const head = `- ${what}: in the poster ${posterSays} (test: ${u} ${f2(poster[0]!.test)}, ${p} ${
    f2(poster[1]!.test)
  }); `;
  switch (v.kind) {
    case "pending":
      return head + `rotor: pending (${v.why}).`;
    case "diverged":
      return head + `rotor: no verdict, ${v.ids.join(" and ")} diverged (see the |x| section).`;
    case "unresolved":
      return head + `rotor: **unresolved** (${v.why}).`;
    default:
      return head + `rotor: ${v.uBeats ? `${u} beats ${p}` : `${p} beats ${u}`} ` +
        `(${v.seeds === 2 ? "both seeds" : "seed 1, ≥ 5 % apart"}): **${v.kind}**.`;
  }
}

function rowCells(done: GridRunResult | undefined): string {
  if (!done) return "| – | – | – | – | – | not started |";
  if (done.status === "running") return `| – | – | – | – | – | running since ${done.started} |`;
  if (done.status === "diverged") {
    return `| – | – | – | ${done.tokens.toLocaleString("en-US")} | ${
      hms(done.wallSeconds)
    } | **diverged** at step ${done.steps} |`;
  }
  return `| ${f2(done.validPpl)} | ${f2(done.testPpl)} | ${done.bestEpoch ?? "–"} | ${
    done.tokens.toLocaleString("en-US")
  } | ${hms(done.wallSeconds)} | done |`;
}

function table(
  rows: GridRun[],
  runs: GridRunResult[],
  label: (r: GridRun) => string,
  poster: (r: GridRun) => PosterPpl | undefined,
): string[] {
  const lines = [
    "| row | seed | valid | test | best epoch | train tokens | wall | state | poster valid | poster test |",
    "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
  ];
  for (const r of rows) {
    const p = poster(r);
    lines.push(
      `| ${esc(label(r))} | ${r.seed} ${rowCells(runs.find((x) => x.id === r.id))} ${
        p ? f2(p.valid) : "–"
      } | ${p ? f2(p.test) : "–"} |`,
    );
  }
  return lines;
}

/** Rows to show: every seed-1 row, and seed-2 rows that have started. */
function shown(runs: GridRunResult[], keep: (r: GridRun) => boolean): GridRun[] {
  const s2 = seedRows(2).filter((r) => runs.some((x) => x.id === r.id));
  const order = seedRows(1).map((r) => r.base);
  const group = (r: GridRun) =>
    `${r.activation ?? ""}${r.stateReset}${r.bptt}`.replace("leaky_relu", "z");
  return [...seedRows(1), ...s2].filter(keep).sort((a, b) =>
    group(a).localeCompare(group(b)) || order.indexOf(a.base) - order.indexOf(b.base) ||
    a.seed - b.seed
  );
}

const actLabel = (r: GridRun) =>
  `${CELL[r.cell]} ${ACT[r.activation!]}${r.stateReset === "window" ? ", state reset" : ""}`;

export function renderGrid(g: GridResults): string[] {
  const b = g.budget;
  const runs = g.runs;
  const done = runs.filter((r) => r.status !== "running");
  const compute = done.reduce((s, r) => s + r.wallSeconds, 0);
  const lines = [
    "## Full-budget grid",
    "",
    `**The rule, the same for every row**: one layer, H = ${b.hidden} (embedding ${b.hidden}, ` +
    `output projection ${
      b.tie ? "tied" : "untied, so that the gradient reaching the embedding " +
        "comes through the recurrence alone"
    }), batch ${b.batch}, Adam at lr ${b.lr} (the ` +
    `orthogonal step at lr/10), both halved when validation does not improve, gradient norm ` +
    `clipped at ${b.clip}, dropout ${b.dropout}, **${b.epochs} full epochs** ` +
    `(${b.epochs} passes over the ${PTB_TRAIN_TOKENS.toLocaleString("en-US")}-token training ` +
    "stream, cut to whole batches of windows: the tokens column) for every row, " +
    "BPTT 150 included. Each row reports the parameters of its best validation epoch; " +
    "perplexities are over the whole validation and test sets in the 10-column layout " +
    "(shared/eval_protocol.ts `COLUMNS`; the |x| rows with the state reset are scored window " +
    "by window from the zero state, as they trained). A second seed is trained for " +
    `both rows of every pair within ${CLOSE * 100} % of each other; a comparison is called ` +
    "only where the seeds agree on its sign.",
    "",
    `**Planning**: one run takes ~45–60 minutes of one core at H = ${b.hidden} ` +
    "(~1,000 tokens/s per process with two runs side by side); 13 seed-1 runs plus the second " +
    "seeds of close pairs make ~10 hours of both cores. Runs are trained two at a time " +
    "(`--jobs 2`), each resumable from its checkpoint, and every finished run is merged into " +
    "reports/ptb-results.json at once, so the grid advances across interruptions. A run's " +
    "checkpoints live in runs/ (not committed): a run resumes only where its folder is, so each " +
    "run is started where it can finish.",
    "",
    `Runs finished: ${done.length} of ${runs.length} started; ${
      hms(compute)
    } of training wall time in them. Reproduce one row with ` +
    "`deno task grid:ptb --rows <row>-s<seed>` (e.g. `--rows ugru-bptt35-s1`); " +
    "`deno task grid:ptb --jobs 2` trains every row still due (seed 2 where a pair is within " +
    `${CLOSE * 100} %); the last grid command run here: \`${g.command}\`.`,
    "",
    "### Activation table (RNN vs uRNN, BPTT 35)",
    "",
    ...table(
      shown(runs, (r) => r.table === "activation"),
      runs,
      actLabel,
      (r) =>
        r.stateReset === "none" ? POSTER_ACTIVATION[r.cell as "rnn"][r.activation!] : undefined,
    ),
    "",
  ];
  for (const a of ["relu", "abs", "leaky_relu"] as const) {
    const poster = [POSTER_ACTIVATION.urnn[a]!, POSTER_ACTIVATION.rnn[a]!];
    lines.push(verdictLine(
      ACT[a]!,
      "uRNN",
      "RNN",
      compare(runs, `urnn-${a}-bptt35`, `rnn-${a}-bptt35`, { u: poster[0]!, p: poster[1]! }),
      poster,
    ));
  }
  const posterAbs = [POSTER_ACTIVATION.urnn.abs!, POSTER_ACTIVATION.rnn.abs!];
  lines.push(verdictLine(
    "|x| with the state reset at every window",
    "uRNN",
    "RNN",
    compare(runs, "urnn-abs-reset-bptt35", "rnn-abs-reset-bptt35", {
      u: posterAbs[0]!,
      p: posterAbs[1]!,
    }),
    posterAbs,
  ));
  lines.push(
    "",
    "### BPTT table (GRU vs uGRU)",
    "",
    ...table(
      shown(runs, (r) => r.table === "bptt"),
      runs,
      (r) => `${CELL[r.cell]} BPTT ${r.bptt}`,
      (r) => POSTER_BPTT[r.cell as "gru"][r.bptt],
    ),
    "",
  );
  for (const bptt of [35, 150]) {
    const poster = [POSTER_BPTT.ugru[bptt]!, POSTER_BPTT.gru[bptt]!];
    lines.push(verdictLine(
      `BPTT ${bptt}`,
      "uGRU",
      "GRU",
      compare(runs, `ugru-bptt${bptt}`, `gru-bptt${bptt}`, { u: poster[0]!, p: poster[1]! }),
      poster,
    ));
  }
  lines.push(
    "",
    "### Reference",
    "",
    ...table(
      shown(runs, (r) => r.table === "reference"),
      runs,
      (r) => CELL[r.cell]!,
      () => undefined,
    ),
    "",
    ...absSection(runs, b),
    "",
    ...gradSection(runs),
  );
  return lines;
}

function absSection(runs: GridRunResult[], b: GridResults["budget"]): string[] {
  const lines = [
    "### |x| and divergence",
    "",
    "|x| preserves the norm of its input and an orthogonal U preserves ‖h‖, so with the state " +
    "carried from window to window through a whole epoch (how every other row trains) nothing " +
    "pulls ‖h‖ of the uRNN back: it can grow with the steps since the epoch began. In the " +
    "105,000-token pilot that preceded the grid (H = 128) the uRNN |x| run diverged this way (training loss up " +
    "to 24.8 nats). ReLU and leaky ReLU zero or shrink the negative part at every step. The " +
    "poster reports a finite uRNN |x| perplexity (its best row), so its runs stayed bounded; " +
    "the set-up that guarantees it is truncated BPTT whose windows each start from the zero " +
    "state, which bounds ‖h‖ by the window's length. rotor trains |x| both ways, for both " +
    "cells: `--state-reset none` and `--state-reset window` (the latter also scored window by " +
    "window from the zero state). What happened:",
    "",
  ];
  const abs = runs.filter((r) => r.activation === "abs");
  for (const r of abs) {
    if (r.status === "running") {
      lines.push(`- ${r.id}: running.`);
      continue;
    }
    const pts = r.grad.filter((p) => p.loss !== undefined);
    const peak = pts.reduce((a, p) => (p.loss! > (a?.loss ?? -Infinity) ? p : a), pts[0]);
    const first = pts[0], last = pts.at(-1);
    const blew = peak && first && peak.loss! > Math.log(10000) && peak.step <= (last?.step ?? 0)
      ? ` Its training loss (20-step mean) peaked at ${peak.loss!.toFixed(2)} nats at step ` +
        `${peak.step}, above a uniform guess (ln 10000 = 9.21), and was ` +
        `${last!.loss!.toFixed(2)} at step ${last!.step}.`
      : "";
    lines.push(
      r.status === "diverged"
        ? `- ${r.id}: **diverged** after ${r.steps} steps: ${r.message ?? "no message"}.${blew}`
        : `- ${r.id}: trained to the end, valid ${f2(r.validPpl)}, test ${f2(r.testPpl)}.${blew}`,
    );
  }
  if (abs.length === 0) lines.push("- No |x| run has started yet.");
  lines.push("", ...absSummary(abs, b));
  return lines;
}

/** What the four seed-1 |x| runs say together, once all have finished. */
function absSummary(abs: GridRunResult[], b: GridResults["budget"]): string[] {
  const of = (base: string) => abs.find((r) => r.base === base && r.seed === 1);
  const [u, p, uReset, pReset] = [
    "urnn-abs-bptt35",
    "rnn-abs-bptt35",
    "urnn-abs-reset-bptt35",
    "rnn-abs-reset-bptt35",
  ]
    .map(of);
  if (![u, p, uReset, pReset].every((r) => r?.status === "done")) return [];
  const gap = (a: GridRunResult, b: GridRunResult) => a.testPpl! - b.testPpl!;
  const same = Math.sign(gap(u!, p!)) === Math.sign(gap(uReset!, pReset!));
  return [
    `None of the four |x| runs diverged at this budget (H = ${b.hidden}, the gradient clipped ` +
    `at ${b.clip}). ` +
    "The poster's numbers sit beside the carried rows, the set-up every other row trains " +
    "with; the rows with the state reset are the control. Test perplexity, carried → reset: " +
    `uRNN ${f2(u!.testPpl)} → ${f2(uReset!.testPpl)}, RNN ${f2(p!.testPpl)} → ` +
    `${f2(pReset!.testPpl)}. ` +
    (same
      ? "The reset does not change which cell is ahead, so the gap between them is the " +
        "cell's, not the carried state's."
      : "The reset changes which cell is ahead: the carried state decides this comparison.") +
    " Not tried: the state reset per sentence, and modReLU's bias as a learned threshold in " +
    "place of |x|.",
  ];
}

function gradSection(runs: GridRunResult[]): string[] {
  const lines = [
    "### Gradient norms during training",
    "",
    "The global gradient norm before clipping (mean over each logged interval of 20 steps) " +
    "and the norms of the gradients that reach the embedding and the first layer's input " +
    "matrix, from each run's metrics.jsonl:",
    "",
    `![RNN vs uRNN gradient norms](${GRID_PLOT_FILES.gradRnn})`,
    "",
    `![GRU vs uGRU gradient norms](${GRID_PLOT_FILES.gradGru})`,
    "",
    `![Gradient norm reaching the embedding](${GRID_PLOT_FILES.embedding})`,
    "",
    "| run | mean ‖g‖ | largest ‖g‖ (interval max) | mean ‖∂L/∂embedding‖ | mean ‖∂L/∂W_in‖ |",
    "|---|---:|---:|---:|---:|",
  ];
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(2) : "–");
  for (const r of runs.filter((r) => r.grad.length > 0)) {
    lines.push(
      `| ${r.id} | ${sci(mean(r.grad.map((p) => p.mean)))} | ${
        sci(Math.max(...r.grad.map((p) => p.max)))
      } | ${sci(mean(r.grad.map((p) => p.embedding)))} | ${
        sci(mean(r.grad.map((p) => p.input)))
      } |`,
    );
  }
  const flows = runs.filter((r) => r.gradflow);
  if (flows.length === 0) return lines;
  const k = flows[0]!.gradflow!.k;
  const at = (n: number[], i: number) => n[Math.min(i, n.length - 1)]!;
  const ks = [0, 10, 50, k].filter((x, i, a) => x <= k && a.indexOf(x) === i);
  lines.push(
    "",
    "### Gradient flow of the trained runs",
    "",
    "‖∂L_T/∂h_(T−k)‖ by distance k, on PTB validation windows (2 batches of 8), for each " +
      "finished run's best model; |λ| is the range of eigenvalue moduli of its recurrent " +
      "matrices (U, or U_r, U_z and U_n).",
    "",
    `![RNN vs uRNN, trained](${GRID_PLOT_FILES.flowRnn})`,
    "",
    `![GRU vs uGRU, trained](${GRID_PLOT_FILES.flowGru})`,
    "",
    `| run | ${ks.map((x) => `k = ${x}`).join(" | ")} | k = ${k} / k = 0 | \\|λ\\| range |`,
    `|---|${ks.map(() => "---:").join("|")}|---:|---|`,
    ...flows.map((r) => {
      const n = r.gradflow!.norms;
      const eig = r.gradflow!.eigen.map((e) =>
        `${e.block === "U" ? "" : `${e.block} `}${e.min.toFixed(3)}–${e.max.toFixed(3)}`
      ).join("; ");
      return `| ${r.id} | ${ks.map((x) => sci(at(n, x))).join(" | ")} | ${
        sci(at(n, k) / at(n, 0))
      } | ${eig || "–"} |`;
    }),
  );
  return lines;
}

/** The grid's gradient-norm plots (file name → SVG text), log scale, by optimizer step. */
export async function renderGridPlots(
  g: GridResults,
  lineChartSvg: (c: {
    title: string;
    xTitle: string;
    yTitle: string;
    logY?: boolean;
    points: { x: number; y: number; series: string }[];
  }) => Promise<string>,
): Promise<Record<string, string>> {
  const series = (
    keep: (r: GridRunResult) => boolean,
    value: (p: GridRunResult["grad"][number]) => number,
  ) =>
    g.runs.filter((r) => keep(r) && r.grad.length > 0).flatMap((r) =>
      r.grad.map((p) => ({ x: p.step, y: Math.max(value(p), 1e-12), series: r.id }))
    );
  const family = (cells: string[]) => (r: GridRunResult) => cells.includes(r.cell);
  const flow = (cells: string[]) =>
    g.runs.filter((r) => cells.includes(r.cell) && r.gradflow).flatMap((r) =>
      r.gradflow!.norms.map((y, x) => ({ x, y: Math.max(y, 1e-30), series: r.id }))
    );
  return {
    [GRID_PLOT_FILES.flowRnn]: await lineChartSvg({
      title: "RNN vs uRNN after training: gradient norm by distance in time",
      xTitle: "k (steps back in time)",
      yTitle: "mean ‖∂L_T/∂h_(T−k)‖ (log scale)",
      logY: true,
      points: flow(["rnn", "urnn"]),
    }),
    [GRID_PLOT_FILES.flowGru]: await lineChartSvg({
      title: "GRU vs uGRU (and LSTM) after training: gradient norm by distance in time",
      xTitle: "k (steps back in time)",
      yTitle: "mean ‖∂L_T/∂h_(T−k)‖ (log scale)",
      logY: true,
      points: flow(["gru", "ugru", "lstm"]),
    }),
    [GRID_PLOT_FILES.gradRnn]: await lineChartSvg({
      title: "RNN vs uRNN: global gradient norm before clipping",
      xTitle: "optimizer step",
      yTitle: "‖g‖ (interval mean, log scale)",
      logY: true,
      points: series(family(["rnn", "urnn"]), (p) => p.mean),
    }),
    [GRID_PLOT_FILES.gradGru]: await lineChartSvg({
      title: "GRU vs uGRU (and LSTM): global gradient norm before clipping",
      xTitle: "optimizer step",
      yTitle: "‖g‖ (interval mean, log scale)",
      logY: true,
      points: series(family(["gru", "ugru", "lstm"]), (p) => p.mean),
    }),
    [GRID_PLOT_FILES.embedding]: await lineChartSvg({
      title: "Gradient norm reaching the embedding (before the recurrent layer)",
      xTitle: "optimizer step",
      yTitle: "‖∂L/∂embedding‖ (interval mean, log scale)",
      logY: true,
      points: series(() => true, (p) => p.embedding),
    }),
  };
}
