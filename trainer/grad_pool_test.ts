import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir, useWasm } from "../shared/testing.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { quiet, smallRunArgs, writeSmallCorpus } from "./testing.ts";
import { train } from "./train.ts";

Deno.test("train --workers 2 follows the same loss curve as one worker for the same seed and batch", async () => {
  await useWasm();
  const data = await writeSmallCorpus(4);
  const runs = await tempDir();
  const run = (workers: number) =>
    quiet(() =>
      train([
        ...smallRunArgs(data, runs, `w${workers}`),
        ...["--workers", String(workers), "--max-steps", "40", "--log-every", "1", "--lr", "0.01"],
        ...["--cell", "ugru"],
      ])
    );
  await run(1);
  await run(2);
  const losses = async (name: string) =>
    (await readFile(join(runs, name, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) =>
      JSON.parse(l)
    )
      .filter((r) => r.type === "batch").map((r) => r.loss as number);
  const a = await losses("w1"), b = await losses("w2");
  assert.equal(a.length, 40);
  assert.equal(b.length, 40);
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      Math.abs(a[i]! - b[i]!) < 1e-4 * Math.abs(a[i]!),
      `step ${i + 1}: ${a[i]} vs ${b[i]}`,
    );
  }
  assert.ok(a[39]! < a[0]!, "the loss fell");
  const p1 = await readCheckpoint<unknown>(join(runs, "w1", "checkpoint.bin"));
  const p2 = await readCheckpoint<unknown>(join(runs, "w2", "checkpoint.bin"));
  for (const [k, t] of Object.entries(p1.tensors)) {
    const x = t.dataSync(), y = p2.tensors[k]!.dataSync();
    let err = 0, mag = 0;
    for (let i = 0; i < x.length; i++) {
      (err = Math.max(err, Math.abs(x[i]! - y[i]!))), (mag = Math.max(mag, Math.abs(x[i]!)));
    }
    assert.ok(err <= 1e-3 * Math.max(mag, 1e-3), `${k}: max difference ${err} (scale ${mag})`);
  }
});
