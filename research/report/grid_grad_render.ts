/** The grid's gradient sections of reports/ptb.md: norms during training, flow after it. */
import type { GridResults, GridRunResult } from "./grid_results.ts";

export const GRID_PLOT_FILES = {
  gradRnn: "ptb-grid-grad-rnn.svg",
  gradGru: "ptb-grid-grad-gru.svg",
  embedding: "ptb-grid-grad-embedding.svg",
  flowRnn: "ptb-grid-gradflow-rnn.svg",
  flowGru: "ptb-grid-gradflow-gru.svg",
} as const;

export function gradSection(runs: GridRunResult[]): string[] {
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
