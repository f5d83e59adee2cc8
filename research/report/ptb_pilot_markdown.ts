/**
 * The pilot's sections of reports/ptb.md (every row at one short token budget): the two tables
 * with their verdicts, divergence notes, gradient flow, the budget and the runs.
 */
import { POSTER_ACTIVATION, POSTER_BPTT, type PosterPpl } from "./ptb_poster.ts";
import { PLOT_FILES } from "./ptb_plots.ts";
import type { PtbResults, RowResult } from "./ptb_results.ts";
import { ACT_NAMES, esc, PTB_TRAIN_TOKENS } from "./markdown_text.ts";

// Not markdown_text's f2: a diverged pilot row shows its NaN or Infinity rather than a dash.
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));
const sci = (x: number) => x.toExponential(2);
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${f2(Math.abs(x))}`;

/** "uRNN beats RNN" or not, by test perplexity, for the poster and for rotor. */
function verdict(
  what: string,
  u: { name: string; test: number },
  p: { name: string; test: number },
  poster: { u: PosterPpl; p: PosterPpl },
): string {
  const posterSays = poster.u.test < poster.p.test;
  const rotorSays = u.test < p.test;
  const claim = (yes: boolean) => (yes ? `${u.name} beats ${p.name}` : `${p.name} beats ${u.name}`);
  const agree = posterSays === rotorSays ? "**agrees** with" : "**disagrees** with";
  const tests = (a: number, b: number) => `test: ${u.name} ${f2(a)}, ${p.name} ${f2(b)}`;
  return `- ${what}: in the poster ${claim(posterSays)} (${
    tests(poster.u.test, poster.p.test)
  }); ` +
    `in rotor ${claim(rotorSays)} (${tests(u.test, p.test)}): rotor ${agree} the poster.`;
}

function find(rows: RowResult[], cell: string, key: (r: RowResult) => boolean): RowResult {
  const r = rows.find((r) => r.cell === cell && key(r));
  if (!r) throw new Error(`The results have no "${cell}" row for this table`);
  return r;
}

const nats = (x: number) => (x < 1000 ? x.toFixed(2) : x.toExponential(2));

/**
 * Rows whose training loss climbed well above where it started (by more than 1 nat): either
 * the run diverged (it ended above its start), or it blew up and recovered.
 */
function divergenceNotes(rows: RowResult[], vocab: number): string[] {
  return rows.flatMap((r) => {
    const first = r.curve[0], last = r.curve.at(-1);
    if (!first || !last) return [];
    const peak = r.curve.reduce((a, b) => (b.loss > a.loss ? b : a));
    if (peak.loss <= first.loss + 1) return [];
    const tokens = (n: number) => n.toLocaleString("en-US");
    const rise = `its training loss (window mean) rose from ${nats(first.loss)} nats after ` +
      `${tokens(first.tokens)} tokens to ${nats(peak.loss)} after ${tokens(peak.tokens)}`;
    return [
      last.loss > first.loss
        ? `- **${r.id} diverged**: ${rise} and was still ${nats(last.loss)} at the end ` +
          `(a uniform guess over the ${vocab} words scores ln ${vocab} = ` +
          `${Math.log(vocab).toFixed(2)}).`
        : `- ${r.id} blew up early and recovered: ${rise}, then fell to ${nats(last.loss)} ` +
          "by the end.",
    ];
  });
}

export function activationSection(res: PtbResults): string[] {
  const acts = ["relu", "abs", "leaky_relu"] as const;
  const lines = [
    "## 1. Activation table (RNN vs uRNN, BPTT 35)",
    "",
    "| cell | σ | rotor valid | rotor test | poster valid | poster test |",
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const cell of ["rnn", "urnn"] as const) {
    for (const a of acts) {
      const r = find(res.rows, cell, (r) => r.activation === a);
      const p = POSTER_ACTIVATION[cell][a]!;
      lines.push(
        `| ${cell === "rnn" ? "RNN" : "uRNN"} | ${esc(ACT_NAMES[a]!)} | ${f2(r.validPpl)} | ${
          f2(r.testPpl)
        } | ${f2(p.valid)} | ${f2(p.test)} |`,
      );
    }
  }
  lines.push("");
  for (const a of acts) {
    const u = find(res.rows, "urnn", (r) => r.activation === a);
    const p = find(res.rows, "rnn", (r) => r.activation === a);
    lines.push(verdict(
      ACT_NAMES[a]!,
      { name: "uRNN", test: u.testPpl },
      { name: "RNN", test: p.testPpl },
      { u: POSTER_ACTIVATION.urnn[a]!, p: POSTER_ACTIVATION.rnn[a]! },
    ));
  }
  lines.push(
    ...divergenceNotes(res.rows.filter((r) => r.table === "activation"), res.timing.vocab),
  );
  return lines;
}

export function bpttSection(res: PtbResults): string[] {
  const lines = [
    "## 2. BPTT table (GRU vs uGRU)",
    "",
    "| cell | BPTT | steps | rotor valid | rotor test | poster valid | poster test |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const cell of ["gru", "ugru"] as const) {
    for (const bptt of [35, 150]) {
      const r = find(res.rows, cell, (r) => r.bptt === bptt);
      const p = POSTER_BPTT[cell][bptt]!;
      lines.push(
        `| ${cell === "gru" ? "GRU" : "uGRU"} | ${bptt} | ${r.steps} | ${f2(r.validPpl)} | ${
          f2(r.testPpl)
        } | ${f2(p.valid)} | ${f2(p.test)} |`,
      );
    }
  }
  lines.push("");
  for (const bptt of [35, 150]) {
    const u = find(res.rows, "ugru", (r) => r.bptt === bptt);
    const p = find(res.rows, "gru", (r) => r.bptt === bptt);
    lines.push(verdict(
      `BPTT ${bptt}`,
      { name: "uGRU", test: u.testPpl },
      { name: "GRU", test: p.testPpl },
      { u: POSTER_BPTT.ugru[bptt]!, p: POSTER_BPTT.gru[bptt]! },
    ));
  }
  // The poster's second claim: going from BPTT 35 to 150 costs the GRU more than the uGRU.
  const rise = (cell: "gru" | "ugru") =>
    find(res.rows, cell, (r) => r.bptt === 150).testPpl -
    find(res.rows, cell, (r) => r.bptt === 35).testPpl;
  const posterRise = (cell: "gru" | "ugru") =>
    POSTER_BPTT[cell][150]!.test - POSTER_BPTT[cell][35]!.test;
  const rotorHolds = rise("ugru") < rise("gru");
  lines.push(
    `- BPTT 35 → 150: in the poster test perplexity rises by ${f2(posterRise("gru"))} for GRU ` +
      `and ${f2(posterRise("ugru"))} for uGRU (longer windows hurt the GRU more); in rotor it ` +
      `changes by ${signed(rise("gru"))} for GRU and ${signed(rise("ugru"))} for uGRU: rotor ` +
      `${rotorHolds ? "**agrees** with" : "**disagrees** with"} the poster.`,
  );
  lines.push(...divergenceNotes(res.rows.filter((r) => r.table === "bptt"), res.timing.vocab));
  return lines;
}

export function gradflowSection(res: PtbResults): string[] {
  const g = res.gradflow;
  const at = (n: number[], k: number) => n[Math.min(k, n.length - 1)]!;
  const ks = [0, 10, 50, g.k].filter((k, i, a) => k <= g.k && a.indexOf(k) === i);
  return [
    "## 4. Gradient flow",
    "",
    `‖∂L_T/∂h_(T−k)‖, the norm of the loss gradient at the last step with respect to the ` +
    `hidden state k steps earlier, averaged over ${g.batches} batch(es) of ${g.batch} windows ` +
    `of PTB validation text (\`research/gradflow.ts\`). "init" is each row's weights before ` +
    `training (same seed), "trained" the row's model after the budget. |λ| is the range of ` +
    `eigenvalue moduli of the recurrent matrix (for GRUs, of U_r, U_z and U_n). A norm of ` +
    "0 underflowed float32; the plots floor it at 1e-30.",
    "",
    `![RNN vs uRNN at initialisation](${PLOT_FILES.gradflowRnnInit})`,
    "",
    `![RNN vs uRNN after training](${PLOT_FILES.gradflowRnnTrained})`,
    "",
    `![GRU vs uGRU](${PLOT_FILES.gradflowGru})`,
    "",
    `| model | ${ks.map((k) => `k = ${k}`).join(" | ")} | k = ${g.k} / k = 0 | \\|λ\\| range |`,
    `|---|${ks.map(() => "---:").join("|")}|---:|---|`,
    ...g.series.map((s) =>
      `| ${s.label} | ${ks.map((k) => sci(at(s.norms, k))).join(" | ")} | ${
        sci(at(s.norms, g.k) / at(s.norms, 0))
      } | ${
        s.eigen.map((e) =>
          `${e.block === "U" ? "" : `${e.block} `}${e.min.toFixed(3)}–${e.max.toFixed(3)}`
        ).join("; ")
      } |`
    ),
  ];
}

export function budgetSection(res: PtbResults): string[] {
  const b = res.budget;
  const steps = (bptt: number) => b.tokens / (b.batch * bptt);
  return [
    "## Budget and setup",
    "",
    `Every row trains on the same **${b.tokens.toLocaleString("en-US")} training tokens** ` +
    `(${(100 * b.tokens / PTB_TRAIN_TOKENS).toFixed(1)} % of one pass over PTB's ` +
    `${PTB_TRAIN_TOKENS.toLocaleString("en-US")}): ${steps(35)} steps at BPTT 35, ` +
    `${steps(150)} at BPTT 150, batch ${b.batch}. One layer, hidden size ${b.hidden}, ` +
    `embedding ${b.hidden}, output projection ${b.tie ? "tied to" : "not tied to"} the ` +
    `embedding, no dropout, Adam at lr ${b.lr} (the orthogonal matrices' step at lr/10), ` +
    `gradient norm clipped at 1, seed ${b.seed}. The budget is counted in tokens rather than ` +
    "minutes because the machine was shared and its load varied. Validation and test " +
    "perplexity are over the whole PTB validation and test sets (batch 10, BPTT 35).",
    "",
    `- Date: ${res.date}`,
    `- Machine: ${res.machine}`,
    `- Backend: ${res.backend}; ${res.runtime}`,
    `- Measured by: \`${res.command}\``,
    "",
    "**Read the perplexities as a comparison within each table, not against the poster's " +
    "absolute figures**: the poster trained to convergence, rotor's rows stop after " +
    `${(100 * b.tokens / PTB_TRAIN_TOKENS).toFixed(0)} % of an epoch with a small model.`,
  ];
}

export function runsSection(res: PtbResults): string[] {
  return [
    "## The runs",
    "",
    `![RNN and uRNN learning curves](${PLOT_FILES.curveActivation})`,
    "",
    `![GRU and uGRU learning curves](${PLOT_FILES.curveBptt})`,
    "",
    "Wall time and throughput were measured under the shared machine's varying load, so they " +
    "are not used for the time-per-batch comparison (section 3).",
    "",
    "| run | steps | wall (s) | tokens/s | command |",
    "|---|---:|---:|---:|---|",
    ...res.rows.map((r) =>
      `| ${r.id} | ${r.steps} | ${Math.round(r.wallSeconds)} | ${
        Math.round(r.tokensPerSecond)
      } | \`${r.command}\` |`
    ),
  ];
}

/** Every verdict line of the tables where rotor and the poster part ways. */
export function disagreements(sections: string[][]): string[] {
  return sections.flat().filter((l) =>
    l.startsWith("- ") && /\*\*(disagrees|above|below)\*\*|diverged\*\*/.test(l)
  );
}
