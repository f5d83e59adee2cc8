import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../shared/testing.ts";
import { keepUpTo, trimMetrics } from "./metrics_log.ts";

const line = (r: Record<string, unknown>) => JSON.stringify(r) + "\n";

Deno.test("keepUpTo() keeps what the checkpoint saw and drops a line cut by a kill", () => {
  const text = line({ type: "batch", step: 4 }) + line({ type: "reorth", step: 5 }) +
    line({ type: "epoch", epoch: 1 }) + line({ type: "batch", step: 6 }) +
    line({ type: "epoch", epoch: 2 }) + '{"type":"batch","st';
  const r = keepUpTo(text, 5, 1);
  assert.equal(
    r.text,
    line({ type: "batch", step: 4 }) + line({ type: "reorth", step: 5 }) +
      line({ type: "epoch", epoch: 1 }),
  );
  assert.equal(r.dropped, 3);
});

Deno.test("trimMetrics() rewrites the log only when something goes", async () => {
  const dir = await tempDir();
  const path = join(dir, "metrics.jsonl");
  assert.equal(await trimMetrics(path, 3, 0), 0, "no log yet");
  const text = line({ type: "batch", step: 2 }) + line({ type: "batch", step: 3 });
  await writeFile(path, text);
  assert.equal(await trimMetrics(path, 3, 0), 0);
  assert.equal(await trimMetrics(path, 2, 0), 1);
  assert.equal(await readFile(path, "utf8"), line({ type: "batch", step: 2 }));
});
