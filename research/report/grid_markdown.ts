/**
 * The full-budget grid's part of reports/ptb.md: both tables at the stated budget, rows not
 * yet trained marked, and a verdict per comparison that counts a seed only where it settles.
 */
import { POSTER_ACTIVATION, POSTER_BPTT, type PosterPpl } from "./ptb_poster.ts";
import type { GridResults, GridRunResult } from "./grid_results.ts";
import { type GridRun, seedRows } from "./grid_rows.ts";
import { CLOSE, compare, verdictLine } from "./grid_verdict.ts";
import { gradSection } from "./grid_grad_render.ts";
import {
  ACT_NAMES as ACT,
  CELL_NAMES as CELL,
  esc,
  f2,
  hms,
  PTB_TRAIN_TOKENS,
} from "./markdown_text.ts";

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
