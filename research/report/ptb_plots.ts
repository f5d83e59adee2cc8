/** The report's SVG plots, drawn from the saved results alone. */
import { lineChartSvg } from "../plot.ts";
import type { GradflowSeries, PtbResults } from "./ptb_results.ts";
import { gridComplete } from "./grid_verdict.ts";
import { renderGridPlots } from "./grid_grad_render.ts";

export const PLOT_FILES = {
  curveActivation: "ptb-curve-activation.svg",
  curveBptt: "ptb-curve-bptt.svg",
  gradflowRnnInit: "ptb-gradflow-rnn-init.svg",
  gradflowRnnTrained: "ptb-gradflow-rnn-trained.svg",
  gradflowGru: "ptb-gradflow-gru.svg",
} as const;

/** Highest training loss the learning curves show (nats). */
const LOSS_CLIP = 12;

const label = (r: PtbResults["rows"][number]) =>
  r.table === "activation" ? `${r.cell} ${r.activation}` : `${r.cell} bptt ${r.bptt}`;

function curve(results: PtbResults, table: "activation" | "bptt", title: string) {
  return lineChartSvg({
    title,
    xTitle: "training tokens",
    yTitle: `training loss (nats per token, clipped at ${LOSS_CLIP})`,
    // Early blow-ups reach 1e8 nats; clipping keeps the curves' useful range readable.
    points: results.rows.filter((r) => r.table === table).flatMap((r) =>
      r.curve.map((p) => ({ x: p.tokens, y: Math.min(p.loss, LOSS_CLIP), series: label(r) }))
    ),
  });
}

function gradflow(series: GradflowSeries[], title: string) {
  return lineChartSvg({
    title,
    xTitle: "k (steps back in time)",
    yTitle: "mean ‖∂L_T/∂h_(T−k)‖ (log scale)",
    logY: true,
    // A log axis cannot show 0: vanished gradients sit at the floor.
    points: series.flatMap((s) =>
      s.norms.map((y, x) => ({ x, y: Math.max(y, 1e-30), series: s.label }))
    ),
  });
}

/** File name → SVG text. */
export async function renderPlots(results: PtbResults): Promise<Record<string, string>> {
  const g = results.gradflow.series;
  // Once the grid is complete the report drops the pilot's sections, and with them its plots.
  if (results.grid && gridComplete(results.grid)) {
    return await renderGridPlots(results.grid, lineChartSvg);
  }
  return {
    ...(results.grid ? await renderGridPlots(results.grid, lineChartSvg) : {}),
    [PLOT_FILES.curveActivation]: await curve(
      results,
      "activation",
      "RNN and uRNN: training loss by tokens seen",
    ),
    [PLOT_FILES.curveBptt]: await curve(
      results,
      "bptt",
      "GRU and uGRU: training loss by tokens seen",
    ),
    [PLOT_FILES.gradflowRnnInit]: await gradflow(
      g.filter((s) => s.family === "rnn" && s.stage === "init"),
      "RNN vs uRNN at initialisation: gradient norm by distance in time",
    ),
    [PLOT_FILES.gradflowRnnTrained]: await gradflow(
      g.filter((s) => s.family === "rnn" && s.stage === "trained"),
      "RNN vs uRNN after training: gradient norm by distance in time",
    ),
    [PLOT_FILES.gradflowGru]: await gradflow(
      g.filter((s) => s.family === "gru"),
      "GRU vs uGRU, at initialisation and after training: gradient norm by distance in time",
    ),
  };
}
