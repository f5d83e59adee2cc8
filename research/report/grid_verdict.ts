/**
 * The grid's verdicts: whether an orthogonal row beats its ordinary twin, called on seed 1 only
 * when the two are far enough apart, else only when a second seed agrees.
 */
import { POSTER_BPTT, type PosterPpl } from "./ptb_poster.ts";
import type { GridResults, GridRunResult } from "./grid_results.ts";
import { seedRows } from "./grid_rows.ts";
import { f2 } from "./markdown_text.ts";

/** Test perplexities closer than this (relative) need a second seed to be called either way. */
export const CLOSE = 0.05;
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

export function verdictLine(
  what: string,
  u: string,
  p: string,
  v: Verdict,
  poster: PosterPpl[],
): string {
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
