/**
 * The long-term-memory section of reports/ptb.md: the context-perturbation test
 * (`deno task context`, reports/context.md) of each grid run, orthogonal cell against its
 * unconstrained counterpart trained by the same rule.
 */
import type { ContextResult } from "./context_results.ts";

/** The unconstrained counterpart of an orthogonal run id (urnn-relu-… → rnn-relu-…). */
export function counterpartId(id: string): string | undefined {
  if (id.startsWith("urnn-")) return id.slice(1);
  if (id.startsWith("ugru-")) return id.slice(1);
  return undefined;
}

const reach = (r: ContextResult) => {
  const p = r.result.perturbations;
  // null: even the largest d costs more than the threshold.
  const far = (e: number | null) => e ?? Infinity;
  return { shuffle: far(p.shuffle.effectiveContext), replace: far(p.replace.effectiveContext) };
};

const show = (x: number) => (x === Infinity ? "> all" : String(x));

/** Markdown lines: the pairs measured, who looks farther, and what is still unmeasured. */
export function contextSection(results: readonly ContextResult[], runIds: readonly string[]) {
  const byName = new Map(results.map((r) => [r.model.name, r]));
  const rows: string[] = [];
  let farther = 0, nearer = 0, tied = 0;
  for (const id of runIds) {
    const other = counterpartId(id);
    const o = byName.get(id), u = other ? byName.get(other) : undefined;
    if (!o || !u) continue;
    const a = reach(o), b = reach(u);
    const score = Math.sign(a.shuffle - b.shuffle) + Math.sign(a.replace - b.replace);
    const verdict = score > 0 ? "orthogonal" : score < 0 ? "unconstrained" : "neither";
    if (score > 0) farther++;
    else if (score < 0) nearer++;
    else tied++;
    rows.push(
      `| ${id} vs ${other} | ${show(a.shuffle)} / ${show(a.replace)} | ` +
        `${show(b.shuffle)} / ${show(b.replace)} | ${verdict} |`,
    );
  }
  // The LSTM rows pair with nothing: they are the usual gated baseline both kinds are read against.
  const references = runIds.filter((id) => id.startsWith("lstm-") && byName.has(id)).map((id) => {
    const r = reach(byName.get(id)!);
    return `${id} ${show(r.shuffle)} / ${show(r.replace)}`;
  });
  const unmeasured = runIds.filter((id) => !byName.has(id));
  const lines = [
    "## Long-term memory: how far back the grid's models look",
    "",
    'The poster says example sentences "suggest long-term memory". rotor measures it with the ' +
    "context-perturbation test of Khandelwal et al. 2018 (`deno task context`; method, every " +
    "model's curve and the shipped models in [context.md](context.md)): the effective context " +
    "is the distance beyond which shuffling (or replacing) the context costs less than 1 % of " +
    "the loss. Each pair below was trained by the grid's one rule, so a difference is the cell's.",
    "",
  ];
  if (rows.length === 0) lines.push("No pair of grid runs is measured yet.", "");
  else {
    lines.push(
      "| pair (orthogonal vs unconstrained) | orthogonal: shuffle / replace | " +
        "unconstrained: shuffle / replace | looks farther |",
      "|---|---:|---:|---|",
      ...rows,
      "",
      `Over ${rows.length} pair(s): the orthogonal cell looks farther in ${farther}, the ` +
        `unconstrained one in ${nearer}, neither in ${tied}. ` +
        (nearer > farther
          ? "At this budget the orthogonal models do **not** use more distant context."
          : farther > nearer
          ? "At this budget the orthogonal models use more distant context."
          : "At this budget neither kind uses more distant context."),
      "",
      ...(references.length > 0
        ? [
          "Reference, an LSTM trained by the same rule (shuffle / replace): " +
          `${references.join("; ")}.`,
          "",
        ]
        : []),
      "![loss increase by distance](context/context.svg)",
      "",
    );
  }
  if (unmeasured.length > 0) {
    lines.push(
      `Not measured: ${
        unmeasured.join(", ")
      } (where the run's folder is kept: \`deno task context --model ` +
        "runs/ptb-grid/ID/model --targets 400 --distances 1,2,3,5,10,20,30,50,100,200 " +
        "--out reports/context/ID.json`).",
      "",
    );
  }
  return lines;
}
