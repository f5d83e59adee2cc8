/** The results of `deno task fuzz:serve` as a markdown table, one column per server. */
import type { AttackResult } from "./fuzz_attacks.ts";

export interface FuzzResult {
  runtime: string;
  cases: number;
  statuses: Record<string, number>;
  serverErrors: string[];
  heavy: {
    name: string;
    status: number;
    want: number;
    ms: number;
    healthMaxMs: number;
    /** The longest wait between a watched stream's tokens while the case ran. */
    gapMs?: number;
    /** The statuses of a case sent in several copies, "12 × 200, 8 × 429". */
    statuses?: string;
  }[];
  /** The connection flood, the redirecting model and the browser's requests. */
  attacks: AttackResult[];
  healthP99Ms: number;
  healthMaxMs: number;
  healthBad: number;
  streamMaxGapMs: number;
  slowBodies: Record<string, number>;
  /** The steady state: the highest RSS after a warm-up pass (or at the start without one). */
  rssWarmMB: number;
  rssAfterMB: number;
  /** RSS after each warm-up pass, in MB. */
  rssPassesMB: number[];
  /** The server's own account (/metrics rotor_memory_bytes) after warm-up and after, in MB. */
  memoryWarmMB: Record<string, number>;
  memoryAfterMB: Record<string, number>;
  peakRssMB: number;
  poisoned: string | null;
  seconds: number;
  failures: string[];
}

export function fuzzTable(results: FuzzResult[]): string {
  const row = (name: string, f: (r: FuzzResult) => string) =>
    `| ${name} | ${results.map(f).join(" | ")} |`;
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const lines = [
    `| measure | ${results.map((r) => r.runtime).join(" | ")} |`,
    `| --- | ${results.map(() => "---").join(" | ")} |`,
    row("generated cases", (r) => String(r.cases)),
    row("statuses", (r) => Object.entries(r.statuses).map(([s, n]) => `${n} × ${s}`).join(", ")),
    row("5xx or no answer", (r) => String(r.serverErrors.length)),
    row("poisoned", (r) => r.poisoned ?? "no"),
    row(
      "/health p99 (max) during heavy cases",
      (r) => `${ms(r.healthP99Ms)} (${ms(r.healthMaxMs)})`,
    ),
    row("longest gap between a stream's tokens", (r) => ms(r.streamMaxGapMs)),
    row(
      "slow-body clients",
      (r) => Object.entries(r.slowBodies).map(([s, n]) => `${n} × ${s}`).join(", ") || "none",
    ),
    row(
      "RSS after each warm-up pass → after the measured one (peak)",
      (r) =>
        `${
          [...r.rssPassesMB, r.rssAfterMB].map((x) => x.toFixed(0))
            .join(" → ")
        } MB (${r.peakRssMB.toFixed(0)})`,
    ),
    row(
      "memory by kind after warm-up → after run",
      (r) =>
        Object.keys(r.memoryAfterMB).map((k) =>
          `${k} ${r.memoryWarmMB[k]?.toFixed(0)} → ${r.memoryAfterMB[k]!.toFixed(0)}`
        ).join(", ") || "n/a",
    ),
    row("wall time", (r) => `${r.seconds.toFixed(0)} s`),
    row("failures", (r) => r.failures.join("; ") || "none"),
  ];
  const names = results[0]?.heavy.map((h) => h.name) ?? [];
  for (const [i, name] of names.entries()) {
    lines.push(row(`heavy: ${name}`, (r) => {
      const h = r.heavy[i]!;
      const gap = h.gapMs === undefined ? "" : `, stream gap ≤ ${ms(h.gapMs)}`;
      return `${h.statuses ?? h.status} in ${ms(h.ms)}, /health ≤ ${ms(h.healthMaxMs)}${gap}`;
    }));
  }
  const attacks = results[0]?.attacks.map((a) => a.name) ?? [];
  for (const [i, name] of attacks.entries()) {
    lines.push(row(`attack: ${name}`, (r) => {
      const a = r.attacks[i];
      return a ? `${a.ok ? "held" : "FAILED"}: ${a.detail}` : "not run";
    }));
  }
  return lines.join("\n");
}
