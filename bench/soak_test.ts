import assert from "node:assert/strict";
import { peakGrowth, type SoakResult, soakTable } from "./soak.ts";

const result: SoakResult = {
  runtime: "deno",
  seconds: 360,
  requests: { "200": 1558 },
  serverErrors: 0,
  quartersMB: [206.4, 274.2, 252.1, 264.8],
  wasmQuartersMB: [89, 89, 89, 89],
  roundsMB: [304, 306, 306, 303, 312, 312],
  roundStatuses: { "408": 3000 },
  memoryMB: [{ js_heap: 34, external: 3, wasm_heap: 89 }, {
    js_heap: 81,
    external: 1,
    wasm_heap: 89,
  }],
  healthP99Ms: 1903,
  healthMaxMs: 2466,
  streamTokens: 13564,
  loadAverage: "12.31 11.98 9.86",
  failures: [],
};

Deno.test("soakTable() shows each quarter, round and growth against the bound", () => {
  const rows = soakTable([result], 20).split("\n");
  assert.equal(rows.length, 3);
  assert.equal(
    rows[2],
    "| deno | 360 s | 1558 × 200 + 13,564 streamed tokens | 0 | 206 → 274 → 252 → 265 (-9.4) | " +
      "89 → 89 → 89 → 89 | 304 → 306 → 306 → 303 → 312 → 312 (6.0; 3000 × 408) | 1903 / 2466 ms | " +
      "34 / 3 / 89 → 81 / 1 / 89 | 12.31 11.98 9.86 | ok |",
  );
  const failed = soakTable([{ ...result, failures: ["RSS grew 25.9 MB"] }], 20);
  assert.match(failed, /\| RSS grew 25\.9 MB \|$/);
});

Deno.test("peakGrowth() tells a lazily collected heap from a leak", () => {
  // Deno's RSS over 12 rounds of slow bodies: up while the heap fills, down after a full GC.
  const lazy = [184, 207, 220, 229, 241, 251, 258, 267, 276, 271, 271, 272];
  assert.equal(peakGrowth(lazy), 25);
  assert.equal(peakGrowth([...lazy, 230, 250, 260, 270, 275, 240]), -1);
  const leak = Array.from({ length: 16 }, (_, i) => 200 + 15 * i);
  assert.equal(peakGrowth(leak), 120);
});
