/**
 * ‖∂L_T/∂h_(T−k)‖ against k for the grid's trained runs: measured once per finished run from
 * its model folder (runs/ is not committed, the numbers are) and kept with the run's results.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadModel } from "../../shared/model_format.ts";
import type { GridRunResult } from "./grid_results.ts";
import { type GradflowOptions, measureGradflow } from "./ptb_gradflow.ts";

/** The report's measurement: 2 batches of 8 windows of PTB validation text, k up to 100. */
export const GRID_GRADFLOW = { k: 100, batch: 8, batches: 2, seed: 1 } as const;

/** The run's gradient flow, from its model folder; undefined when the folder is gone. */
export async function runGradflow(
  run: GridRunResult,
  runsDir: string,
  o: GradflowOptions,
): Promise<GridRunResult["gradflow"]> {
  const dir = join(runsDir, run.id, "model");
  if (run.status !== "done" || !existsSync(join(dir, "model.json"))) return undefined;
  const m = await loadModel(dir);
  try {
    const s = await measureGradflow(
      { label: run.id, stage: "trained", cfg: m.config, params: m.params },
      o,
    );
    return { k: o.k, norms: s.norms, eigen: s.eigen };
  } finally {
    Object.values(m.params).forEach((t) => t.dispose());
  }
}
