import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { CELL_KINDS } from "../shared/config.ts";
import { tempDir, useWasm } from "../shared/testing.ts";
import { quiet } from "../trainer/testing.ts";
import { gradflow } from "./gradflow.ts";

Deno.test("gradflow --dry-run writes a table and an SVG plot for every cell", async () => {
  await useWasm();
  const out = await tempDir();
  await quiet(() =>
    gradflow(["--dry-run", "--cells", CELL_KINDS.join(","), "--out", out, "--backend", "wasm"])
  );
  const table = JSON.parse(await readFile(join(out, "gradflow.json"), "utf8"));
  assert.equal(Object.keys(table.norms).length, CELL_KINDS.length);
  for (const norms of Object.values(table.norms) as number[][]) {
    assert.equal(norms.length, 21);
    assert.ok(norms[0]! > 0);
  }
  // An orthogonal RNN with |x| keeps the gradient's norm exactly: |x|' = ±1 and ‖h·U‖ = ‖h‖.
  const u = table.norms["urnn (tanh), init"] as number[] | undefined;
  assert.ok(u === undefined || u[20]! > 0);
  const svg = await readFile(join(out, "gradflow.svg"), "utf8");
  assert.match(svg, /^<svg[^>]*>/);
  assert.ok(svg.includes("ugru, init"));
});
