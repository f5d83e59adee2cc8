/** reports/context.md: the context-use tables and a comparison, from saved results alone. */
import { PERTURBATIONS } from "./context_perturb.ts";
import type { ContextResult } from "./context_results.ts";

/** A fraction as a percentage; one that rounds to zero prints without a minus sign. */
const pct = (v: number) => `${(100 * v).toFixed(2).replace(/^-(0\.00)$/, "$1")} %`;

/** "≤ 15", or "> 200" when even the largest d costs more than the threshold. */
export function formatContext(r: ContextResult, kind: (typeof PERTURBATIONS)[number]): string {
  const e = r.result.perturbations[kind].effectiveContext;
  return e === null ? `> ${Math.max(...r.settings.distances)}` : String(e);
}

function summaryTable(results: readonly ContextResult[]): string[] {
  return [
    "| Model | Cell | Test ppl | Targets | History L | Loss (nats) | Effective context, shuffle | Effective context, replace |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...results.map((r) =>
      `| ${r.model.name} | ${r.model.cell} ${r.model.activation}, H = ${r.model.hiddenSize} | ${
        r.model.testPpl?.toFixed(2) ?? "–"
      } | ${r.result.targets} | ${r.settings.history} | ${r.result.loss.toFixed(3)} | ${
        formatContext(r, "shuffle")
      } | ${formatContext(r, "replace")} |`
    ),
  ];
}

function distanceTable(results: readonly ContextResult[]): string[] {
  const cols = results.flatMap((r) => PERTURBATIONS.map((kind) => ({ r, kind })));
  const ds = [...new Set(results.flatMap((r) => r.settings.distances))].sort((a, b) => a - b);
  const cell = (r: ContextResult, kind: (typeof PERTURBATIONS)[number], d: number) => {
    const row = r.result.perturbations[kind].rows.find((x) => x.d === d);
    return row ? `${pct(row.relIncrease)} ± ${pct(row.stderr / r.result.loss)}` : "–";
  };
  return [
    `| d | ${cols.map((c) => `${c.r.model.name} ${c.kind}`).join(" | ")} |`,
    `|---:|${cols.map(() => "---:").join("|")}|`,
    ...ds.map((d) => `| ${d} | ${cols.map((c) => cell(c.r, c.kind, d)).join(" | ")} |`),
  ];
}

/** Which model keeps using context farthest, per perturbation (null counts as farthest). */
function comparison(results: readonly ContextResult[]): string[] {
  if (results.length < 2) return [];
  const reach = (r: ContextResult, kind: (typeof PERTURBATIONS)[number]) =>
    r.result.perturbations[kind].effectiveContext ?? Infinity;
  return PERTURBATIONS.map((kind) => {
    const sorted = [...results].sort((a, b) => reach(b, kind) - reach(a, kind));
    const order = sorted.map((r) => `${r.model.name} (${formatContext(r, kind)})`).join(", ");
    const tie = reach(sorted[0]!, kind) === reach(sorted[1]!, kind);
    return `- ${kind}: ${order}${tie ? " — the top two tie at this grid of d" : ""}.`;
  });
}

export function renderContextMarkdown(
  results: readonly ContextResult[],
  command: string,
  plotFile: string,
): string {
  const first = results[0]!;
  const cells = new Set(results.map((r) => r.model.cell));
  const allOrthogonal = [...cells].every((c) => c === "urnn" || c === "ugru");
  return [
    "# Context use: how far back the models look",
    "",
    `Written by \`${command}\` from the results of:`,
    "",
    ...results.map((r) =>
      `- \`${r.command}\` (${r.date.slice(0, 16).replace("T", " ")} UTC, ${
        r.timing.seconds.toFixed(0)
      } s, ${r.timing.tokensPerSecond.toFixed(0)} tokens/s; ${r.machine})`
    ),
    "",
    'The test of Khandelwal et al. 2018, "Sharp Nearby, Fuzzy Far Away: How Neural Language ' +
    'Models Use Context": for targets sampled (seeded) from PTB test, the model reads the ' +
    `${first.settings.history} tokens before the target from a zero state and predicts it; then ` +
    "the tokens farther than d from the target are perturbed — **shuffle** permutes them among " +
    "themselves, **replace** puts a span of the same length from elsewhere in the test stream in " +
    "their place — and the loss on the same targets is measured again. The effective context is " +
    "the smallest listed d such that perturbing the context beyond it, or beyond any larger " +
    `listed d, costs less than ${100 * first.settings.threshold} % of the unperturbed loss ` +
    '("> D": even the largest d costs more). Increases are means over the targets with their ' +
    "standard error (paired differences).",
    "",
    ...summaryTable(results),
    "",
    `![loss increase by distance](${plotFile})`,
    "",
    "Loss increase (% of the unperturbed loss, ± standard error) by d:",
    "",
    ...distanceTable(results),
    "",
    "Farthest effective context first:",
    "",
    ...comparison(results),
    "",
    allOrthogonal
      ? "Every model here is orthogonal (uRNN and uGRU), so this compares the two orthogonal " +
        "cells with each other, not orthogonal against unconstrained recurrence: whether the " +
        "orthogonal models use more distant context needs a GRU, RNN and LSTM of the same size " +
        "trained the same way, measured with the same command. Each model here was trained its " +
        "own way (its folder's README.md says how), so a difference mixes the cell with its " +
        "training."
      : "Models of different cells are compared at their own training budgets; the comparison " +
        "is fair only where they were trained the same way.",
    "",
    "The paper's LSTMs used about 200 tokens of context on PTB and Wikitext-103, with word " +
    "order mattering only within the nearest ~50.",
    "",
  ].join("\n");
}
