/** The time-per-batch section of reports/ptb.md: the orthogonal step's cost beside the poster's. */
import { POSTER_OVERHEAD } from "./ptb_poster.ts";
import type { PtbResults } from "./ptb_results.ts";
import { overheadPercent, pairedOverhead } from "../../trainer/step_time.ts";
import { pct } from "./markdown_text.ts";

type TimingCell = PtbResults["timing"]["cells"][number];

/** Overhead of a over b: paired by round when the samples were saved, else from medians. */
function overhead(a: TimingCell, b: TimingCell, kind: "step" | "fwdBwd") {
  const as = kind === "step" ? a.stepSamples : a.fwdBwdSamples;
  const bs = kind === "step" ? b.stepSamples : b.fwdBwdSamples;
  if (as && bs && as.length === bs.length && as.length > 0) return pairedOverhead(as, bs);
  const m = kind === "step"
    ? overheadPercent(a.stepMs, b.stepMs)
    : overheadPercent(a.fwdBwdMs, b.fwdBwdMs);
  return { median: m };
}

const withQuartiles = (o: { median: number; q1?: number; q3?: number }) =>
  o.q1 !== undefined && o.q3 !== undefined
    ? `${pct(o.median)} (${pct(o.q1)} to ${pct(o.q3)})`
    : pct(o.median);

export function timingSection(res: PtbResults, heading: string): string[] {
  const t = res.timing;
  const cell = (label: string) => {
    const c = t.cells.find((c) => c.label === label || c.label.startsWith(`${label} `));
    if (!c) throw new Error(`The timing results have no "${label}" cell`);
    return c;
  };
  const paired = t.cells.every((c) => c.stepSamples && c.fwdBwdSamples);
  const lines = [
    heading,
    "",
    `One training batch (B = ${t.batch}, BPTT ${t.bptt}, H = ${t.hidden}, V = ${t.vocab}) on ` +
    `random tokens, ${t.reps} round${
      t.reps === 1 ? "" : "s"
    }; in each round every cell runs once, one after another (the first cell rotating ` +
    "from round to round), in one process, so the shared machine's changing load hits every cell alike" +
    (t.loadAverage !== undefined
      ? ` (load average ${t.loadAverage.toFixed(1)} at the start)`
      : "") +
    ". The whole step is forward, backward, clipping, Adam, and for uRNN/uGRU the orthogonal " +
    "(Lie-group exponential) update." +
    (t.command ? ` Measured by \`${t.command}\`${t.date ? ` on ${t.date}` : ""}.` : ""),
    "",
    "| cell | whole step, median (ms) | forward + backward, median (ms) |",
    "|---|---:|---:|",
    ...t.cells.map((c) => `| ${c.label} | ${c.stepMs.toFixed(1)} | ${c.fwdBwdMs.toFixed(1)} |`),
    "",
    paired
      ? "Overhead: the median over rounds of each round's overhead, quartiles in brackets."
      : "Overhead: the ratio of the medians.",
    "",
    "| pair | rotor: whole step | rotor: forward + backward | poster |",
    "|---|---:|---:|---:|",
  ];
  const verdicts: string[] = [];
  for (const [u, p, name] of [["urnn", "rnn", "uRNN vs RNN"], ["ugru", "gru", "uGRU vs GRU"]]) {
    const a = cell(u!), b = cell(p!);
    const step = overhead(a, b, "step");
    lines.push(
      `| ${name} | ${withQuartiles(step)} | ${withQuartiles(overhead(a, b, "fwdBwd"))} | ` +
        `+${POSTER_OVERHEAD.min}–${POSTER_OVERHEAD.max} % |`,
    );
    const m = step.median;
    const where = m >= POSTER_OVERHEAD.min && m <= POSTER_OVERHEAD.max
      ? "inside the poster's 1–10 % range"
      : m < POSTER_OVERHEAD.min
      ? "**below** the poster's 1–10 % range"
      : "**above** the poster's 1–10 % range";
    const noisy = "q1" in step && step.q1 !== undefined && step.q1 <= 0 && step.q3 >= 0
      ? "; its quartiles straddle zero, so at this load rotor cannot tell the two apart"
      : "";
    verdicts.push(`- ${name}: rotor's whole step is ${pct(m)}, ${where}${noisy}.`);
  }
  return [...lines, "", ...verdicts];
}
