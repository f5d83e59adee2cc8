/**
 * The suite's verdict: every figure beside PyTorch's, the ratio it is judged by, the target
 * and whether this run met it. Pure functions of the measured results, so the
 * table is tested without timing anything; timings never decide a test.
 */
import { orthOverheads } from "../trainer/step_time.ts";
import type { ServeBench, TorchRef, TrainBench } from "./results.ts";
import type { FuzzResult } from "./fuzz_serve.ts";

export interface Results {
  /** One-thread processes: one process and every --workers count. */
  train?: TrainBench;
  /** One process on more wasm threads (bench:train --threads N), one result per N. */
  trainThreaded?: TrainBench[];
  serve?: ServeBench;
  torch?: TorchRef;
  /** The hostile-client run (bench/fuzz_serve.ts), one result per server runtime. */
  fuzz?: FuzzResult[];
}

export type Met = "yes" | "MISS" | "—" | "no PyTorch";

export interface Row {
  figure: string;
  rotor: string;
  torch: string;
  /** The ratio the figure is judged by, naming what it divides by. */
  ratio: string;
  target: string;
  met: Met;
}

/** The suite's targets; each compares one ratio (or one figure) of a single run. */
export const TARGETS = {
  /** rotor / PyTorch training tokens/s, same cell and size. */
  train: { min: 0.5, text: "≥ 0.5× PyTorch" },
  /** Whole step, orthogonal cell / plain cell, at H = 256. */
  orth: { max: 1.05, text: "≤ 1.05× (+5 %)" },
  /** rotor / PyTorch eager, single-stream generation. */
  generate: { min: 2, text: "≥ 2× PyTorch eager" },
  /** rotor's 32-stream aggregate / its single stream. */
  aggregate: { streams: 32, min: 4, text: "≥ 4× single-stream" },
  /** rotor / PyTorch tokens/s scoring the PTB test set. */
  score: { min: 1, text: "≥ 1× PyTorch" },
  /** Server RSS under the 32-stream load, MB. */
  rss: { streams: 32, max: 200, text: "≤ 200 MB" },
  /** RSS growth over the mixed requests, after the first tenth of them, MB. */
  flat: { max: 10, text: "flat (≤ +10 MB)" },
} as const;

/** Whether `x` meets a bound; "—" when there is nothing to judge. */
export function judge(x: number | undefined, bound: { min?: number; max?: number }): Met {
  if (x === undefined || !Number.isFinite(x)) return "—";
  const ok = (bound.min === undefined || x >= bound.min) &&
    (bound.max === undefined || x <= bound.max);
  return ok ? "yes" : "MISS";
}

export const fmtInt = (x: number) => Math.round(x).toLocaleString("en");
const fmtRatio = (x: number) => `${x.toFixed(x >= 10 ? 1 : 2)}×`;
const fmtPct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)} %`;
const procs = (w: number, threads = 1) =>
  w > 1 ? `--workers ${w}` : threads > 1 ? `1 process, ${threads} threads` : "1 process";

/** Cores a configuration keeps busy: workers on one thread each, or one process's threads. */
const cores = (train: TrainBench, workers: number) => workers > 1 ? workers : train.threads;

/** A row judged by rotor / PyTorch: without PyTorch (or at other sizes) it is not judged. */
function versusTorch(
  figure: string,
  rotor: number,
  torch: number | undefined,
  target: { min: number; text: string } | undefined,
  why: { noTorch: boolean; mismatch?: string },
): Row {
  const base = { figure, rotor: fmtInt(rotor), target: target?.text ?? "—" };
  if (torch === undefined) {
    const met: Met = target && why.noTorch ? "no PyTorch" : "—";
    return { ...base, torch: "—", ratio: "—", met };
  }
  if (why.mismatch) return { ...base, torch: fmtInt(torch), ratio: why.mismatch, met: "—" };
  const r = rotor / torch;
  return {
    ...base,
    torch: fmtInt(torch),
    ratio: `${fmtRatio(r)} PyTorch`,
    met: target ? judge(r, target) : "—",
  };
}

/** Why two measurements cannot be divided, if their sizes differ. */
function sizesDiffer(a: Record<string, number>, b: Record<string, number>): string | undefined {
  const bad = Object.keys(a).filter((k) => a[k] !== b[k]);
  if (bad.length === 0) return undefined;
  return `sizes differ (${bad.map((k) => `${k} ${a[k]} vs ${b[k]}`).join(", ")})`;
}

function trainRows(train: TrainBench, torch: TorchRef | undefined, judged: number): Row[] {
  const rows: Row[] = [];
  const t = torch?.train;
  const mismatch = t &&
    sizesDiffer(
      { batch: train.batch, hidden: train.hidden, vocab: train.vocab },
      { batch: t.batch, hidden: t.hidden, vocab: t.vocab },
    );
  const mm = train.roofline, tm = torch?.matmul;
  const mmSame = tm && tm.m === mm.m && tm.k === mm.k && tm.n === mm.n;
  rows.push({
    figure: `roofline: matMul [${mm.m}×${mm.k}]·[${mm.k}×${mm.n}], GFLOPS`,
    rotor: `${mm.gflops.toFixed(1)} (${train.backend}, ${train.threads} thread${
      train.threads > 1 ? "s" : ""
    })`,
    torch: tm ? `${tm.gflops.toFixed(1)} (${torch!.threads} threads)` : "—",
    ratio: tm && mmSame ? `${fmtRatio(mm.gflops / tm.gflops)} PyTorch` : "—",
    target: "—",
    met: "—",
  });
  for (const run of train.runs) {
    for (const c of run.cells) {
      const tr = t?.rows.find((r) => r.cell === c.cell && r.bptt === run.bptt);
      rows.push(versusTorch(
        `train ${c.cell}, T = ${run.bptt}, ${procs(run.workers, train.threads)}: tokens/s`,
        c.tokensPerS,
        tr?.tokensPerS,
        cores(train, run.workers) === judged ? TARGETS.train : undefined,
        { noTorch: !torch, mismatch },
      ));
    }
  }
  for (const run of train.runs) {
    const torchRows = (t?.rows ?? []).filter((r) => r.bptt === run.bptt)
      .map((r) => ({ label: r.cell, stepSamples: r.stepSamples }));
    const torchOver = orthOverheads(torchRows);
    for (const o of orthOverheads(run.cells.map((c) => ({ label: c.cell, ...c })))) {
      const to = torchOver.find((x) => x.cell === o.cell);
      const ratio = 1 + o.median / 100;
      rows.push({
        figure: `orthogonal step: ${o.cell} vs ${o.base}, T = ${run.bptt}, ${
          procs(run.workers, train.threads)
        }`,
        rotor: `${fmtPct(o.median)} (${o.q1.toFixed(1)} … ${o.q3.toFixed(1)})`,
        torch: to ? fmtPct(to.median) : "—",
        ratio: `${ratio.toFixed(3)}× ${o.base}`,
        target: TARGETS.orth.text,
        met: judge(ratio, TARGETS.orth),
      });
    }
  }
  return rows;
}

function serveRows(serve: ServeBench, torch: TorchRef | undefined): Row[] {
  const rows: Row[] = [];
  const g = torch?.generate;
  const genMismatch = g &&
    sizesDiffer({ hidden: serve.hidden, vocab: serve.vocab }, { hidden: g.hidden, vocab: g.vocab });
  const single = serve.single.tokensPerS;
  rows.push(versusTorch(
    "generation, single stream: tokens/s",
    single,
    g?.single.tokensPerS,
    TARGETS.generate,
    { noTorch: !torch, mismatch: genMismatch },
  ));
  for (const s of serve.streams) {
    const judged = s.n === TARGETS.aggregate.streams;
    const ratio = s.tokensPerS / single;
    const torchAt = g?.streams.find((x) => x.n === s.n);
    rows.push({
      figure: `generation, ${s.n} streams: aggregate tokens/s`,
      rotor: fmtInt(s.tokensPerS),
      torch: torchAt ? fmtInt(torchAt.tokensPerS) : "—",
      ratio: `${fmtRatio(ratio)} single-stream`,
      target: judged ? TARGETS.aggregate.text : "—",
      met: judged ? judge(ratio, TARGETS.aggregate) : "—",
    });
  }
  const sc = torch?.score;
  const texts = sc && sc.tokens !== serve.score.tokens
    ? `texts differ (${serve.score.tokens} vs ${sc.tokens} tokens)`
    : genMismatch;
  rows.push(versusTorch(
    `scoring the PTB test set (${fmtInt(serve.score.tokens)} tokens): tokens/s`,
    serve.score.tokensPerS,
    sc?.tokensPerS,
    TARGETS.score,
    { noTorch: !torch, mismatch: texts },
  ));
  const during = serve.scoreWhileStreaming;
  if (during) {
    rows.push({
      figure: "one stream while the test set is scored: tokens/s (longest gap)",
      rotor: `${fmtInt(during.tokensPerS)} (${fmtInt(during.maxGapMs)} ms)`,
      torch: "—",
      ratio: `${fmtRatio(during.tokensPerS / serve.single.tokensPerS)} single-stream`,
      target: "—",
      met: "—",
    });
  }
  rows.push({
    figure: "process start → first streamed token, ms",
    rotor: fmtInt(serve.firstTokenMs),
    torch: "—",
    ratio: "—",
    target: "—",
    met: "—",
  });
  for (const s of serve.streams) {
    const judged = s.n === TARGETS.rss.streams;
    rows.push({
      figure: `server peak RSS under the ${s.n}-stream load, MB`,
      rotor: s.peakRssMB.toFixed(0),
      torch: "—",
      ratio: "—",
      target: judged ? TARGETS.rss.text : "—",
      met: judged ? judge(s.peakRssMB, TARGETS.rss) : "—",
    });
  }
  const req = serve.requests;
  if (req) {
    rows.push({
      figure: `server RSS across ${fmtInt(req.n)} mixed short requests, MB (first → last tenth)`,
      rotor: `${req.rssMB[0]!.toFixed(0)} → ${req.rssMB[req.rssMB.length - 1]!.toFixed(0)}`,
      torch: "—",
      ratio: `${req.growthMB >= 0 ? "+" : ""}${req.growthMB.toFixed(1)} MB`,
      target: TARGETS.flat.text,
      met: judge(req.growthMB, TARGETS.flat),
    });
  }
  rows.push({
    figure: "server peak RSS over the whole run (scoring included), MB",
    rotor: serve.peakRssMB.toFixed(0),
    torch: "—",
    ratio: "—",
    target: "—",
    met: "—",
  });
  return rows;
}

/** Every training measurement of a run: one-thread processes first, then threaded ones. */
export function trainResults(r: Results): TrainBench[] {
  return [...(r.train ? [r.train] : []), ...(r.trainThreaded ?? [])];
}

/**
 * Training is judged in the configurations that use as many cores as any measured (PyTorch
 * uses every core): --workers 2 and one process on 2 threads alike.
 */
function judgedCores(r: Results): number {
  return Math.max(...trainResults(r).flatMap((t) => t.runs.map((run) => cores(t, run.workers))));
}

/** Every figure of one run, with its ratio, target and verdict. */
export function benchRows(r: Results): Row[] {
  return [
    ...trainResults(r).flatMap((t) => trainRows(t, r.torch, judgedCores(r))),
    ...(r.serve ? serveRows(r.serve, r.torch) : []),
  ];
}

const HEAD = ["figure", "rotor", "PyTorch", "ratio", "target", "met?"];

/** A Markdown table with padded columns (readable on a terminal as well). */
export function markdownTable(head: string[], rows: string[][]): string {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(" | ")} |`;
  return [line(head), line(width.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function renderRows(rows: Row[]): string {
  return markdownTable(
    HEAD,
    rows.map((r) => [r.figure, r.rotor, r.torch, r.ratio, r.target, r.met]),
  );
}
