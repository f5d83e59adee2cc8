/** The context-use plot: loss increase by distance d, one line per model and perturbation. */
import { lineChartSvg } from "../plot.ts";
import { PERTURBATIONS } from "./context_perturb.ts";
import type { ContextResult } from "./context_results.ts";

export function contextPlotSvg(results: readonly ContextResult[]): Promise<string> {
  const points = results.flatMap((r) =>
    PERTURBATIONS.flatMap((kind) =>
      r.result.perturbations[kind].rows.map((row) => ({
        x: row.d,
        y: 100 * row.relIncrease,
        series: `${r.model.name} ${kind}`,
      }))
    )
  );
  const ds = points.map((p) => p.x);
  // The threshold as a line of its own, so the effective context reads off where curves cross it.
  const thresholds = [...new Set(results.map((r) => r.settings.threshold))];
  for (const t of thresholds) {
    for (const x of [Math.min(...ds), Math.max(...ds)]) {
      points.push({ x, y: 100 * t, series: `${100 * t} % threshold` });
    }
  }
  return lineChartSvg({
    title: "Loss increase when the context farther than d tokens is perturbed (PTB test)",
    xTitle: "d (tokens kept intact before the target, log scale)",
    yTitle: "loss increase (% of the unperturbed loss)",
    logX: true,
    points,
  });
}
