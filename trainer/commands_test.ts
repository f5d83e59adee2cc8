import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { CELL_KINDS } from "../shared/config.ts";
import { saveSmallModel, tempDir, useWasm } from "../shared/testing.ts";
import { evaluate } from "./eval.ts";
import { quiet, smallRunArgs, writeSmallCorpus } from "./testing.ts";
import { train } from "./train.ts";
import { readCheckpoint } from "./checkpoint.ts";

Deno.test("eval --dry-run scores a model on a text file and reports the out-of-vocabulary rate", async () => {
  await useWasm();
  for (const cell of CELL_KINDS) {
    const model = await saveSmallModel({ cell });
    const text = join(await tempDir(), "t.txt");
    await Deno.writeTextFile(text, "The company said it was n't sure. Zyxwv rose 3%.");
    const r = await quiet(() =>
      evaluate(["--model", model, "--text", text, "--dry-run", "--backend", "wasm"])
    );
    assert.ok(r && Number.isFinite(r.perplexity) && r.perplexity > 1, `${cell}: ${r?.perplexity}`);
    assert.ok(r!.oov_tokens >= 3, `${cell}: ${r!.oov_tokens} unknown words`); // zyxwv, rose, sure…
  }
  await assert.rejects(evaluate(["--text", "x"]), /--model is required/);
});

Deno.test("a NaN loss stops training with a clear message and keeps the last good checkpoint", async () => {
  await useWasm();
  const data = await writeSmallCorpus(5);
  const runs = await tempDir();
  const args = smallRunArgs(data, runs, "nan");
  await quiet(() => train([...args, "--max-steps", "3"]));
  const resume = [
    "--resume",
    join(runs, "nan"),
    "--lr",
    "1e30",
    "--clip",
    "0",
    "--checkpoint-every",
    "1",
  ];
  const err = await quiet(() => train([...resume, "--max-steps", "50"])).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, "training with lr 1e30 must fail");
  const m =
    /(?:Loss became (?:NaN|-?Infinity) at step (\d+)|non-finite after step (\d+)).*last good checkpoint/
      .exec(err.message);
  assert.ok(m, err.message);
  const failed = Number(m[1] ?? m[2]);
  const ck = await readCheckpoint<{ state: { step: number } }>(join(runs, "nan", "checkpoint.bin"));
  assert.equal(ck.header.state.step, failed - 1, "the checkpoint is the last good step");
  assert.ok(failed > 3);
  for (const t of Object.values(ck.tensors)) assert.ok(t.dataSync().every(Number.isFinite));
});

Deno.test("a run resumed before its first validation still keeps its best epoch and its lr", async () => {
  await useWasm();
  const data = await writeSmallCorpus(6);
  const runs = await tempDir();
  const args = smallRunArgs(data, runs, "early");
  await quiet(() => train([...args, "--max-steps", "3", "--lr", "0.01"]));
  await quiet(() => train(["--resume", join(runs, "early"), "--epochs", "1", "--max-steps", "0"]));
  const ck = await readCheckpoint<{ state: { lr: number; bestValid: number } }>(
    join(runs, "early", "checkpoint.bin"),
  );
  assert.equal(ck.header.state.lr, 0.01, "the first validation improves on nothing: no decay");
  assert.ok(
    Number.isFinite(ck.header.state.bestValid),
    JSON.stringify(ck.header.state).slice(0, 300),
  );
  assert.ok(existsSync(join(runs, "early", "best.bin")));
});
