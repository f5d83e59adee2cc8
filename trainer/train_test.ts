import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { ACTIVATIONS } from "../shared/activations.ts";
import { CELL_KINDS } from "../shared/config.ts";
import { loadModel } from "../shared/model_format.ts";
import { ptbForTests } from "../shared/ptb.ts";
import { tempDir, useWasm } from "../shared/testing.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { evaluate } from "./eval.ts";
import { quiet, smallRunArgs, writeSmallCorpus } from "./testing.ts";
import { dataName, train } from "./train.ts";

Deno.test("train --dry-run runs on PTB for every cell type and rnn activation", async () => {
  const data = await ptbForTests();
  if (!data) return;
  await useWasm();
  const runs = await tempDir();
  const variants = [
    ...CELL_KINDS.filter((c) => c !== "rnn").map((c) => [`--cell`, c]),
    ...ACTIVATIONS.map((a) => ["--cell", "rnn", "--activation", a]),
  ];
  for (const v of variants) {
    await quiet(() =>
      train([
        ...v,
        "--dry-run",
        "--hidden",
        "8",
        "--data",
        data,
        "--runs",
        runs,
        "--backend",
        "wasm",
      ])
    );
  }
  const m = await loadModel(join(runs, "ugru-h8-bptt35-s1", "model"));
  assert.equal(m.config.vocabSize, 10000);
  assert.equal(m.meta.provenance.stopped, "dry-run");
});

async function params(path: string): Promise<Record<string, Float32Array>> {
  const ck = await readCheckpoint<unknown>(path);
  return Object.fromEntries(
    Object.entries(ck.tensors).filter(([k]) => k.startsWith("param/")).map((
      [k, t],
    ) => [k, t.dataSync() as Float32Array]),
  );
}

Deno.test("train --resume after SIGKILL continues bitwise like a straight run", async () => {
  await useWasm();
  const data = await writeSmallCorpus(2);
  const runs = await tempDir();
  const args = (
    name: string,
  ) => [...smallRunArgs(data, runs, name), "--dropout", "0.2", "--cell", "ugru"];
  // A run in a subprocess, killed with SIGKILL once it has written a checkpoint.
  const child = spawn(process.execPath, [
    "run",
    "-A",
    "trainer/train.ts",
    ...args("killed"),
    "--checkpoint-every",
    "4",
    "--epochs",
    "50",
  ], {
    stdio: "ignore",
  });
  const ck = join(runs, "killed", "checkpoint.bin");
  for (let i = 0; i < 600 && !existsSync(ck); i++) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  assert.ok(existsSync(ck), "the killed run wrote a checkpoint");
  const at = (await readCheckpoint<{ state: { step: number } }>(ck)).header.state.step;
  const target = at + 12;
  await quiet(() => train(["--resume", join(runs, "killed"), "--max-steps", String(target)]));
  await quiet(() => train([...args("straight"), "--max-steps", String(target), "--epochs", "50"]));
  const a = await params(ck), b = await params(join(runs, "straight", "checkpoint.bin"));
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `${k} differs after resume`);
  // The model folder names both commands that made it: the first run's and the resume.
  const made = (await loadModel(join(runs, "killed", "model"))).meta.provenance.command as string;
  assert.match(
    made,
    /^deno task train .*--name killed.*\ndeno task train --resume .*killed --max-steps \d+$/,
  );
});

Deno.test("training a tiny model makes the loss fall, and eval reproduces the reported perplexity", async () => {
  await useWasm();
  const data = await writeSmallCorpus(3);
  const runs = await tempDir();
  await quiet(() =>
    train([
      ...smallRunArgs(data, runs, "fall"),
      ...["--dropout", "0.2", "--epochs", "3", "--lr", "0.01", "--log-every", "1"],
    ])
  );
  const lines = (await readFile(join(runs, "fall", "metrics.jsonl"), "utf8")).trim().split("\n")
    .map((l) => JSON.parse(l));
  const batches = lines.filter((l) => l.type === "batch");
  const epochs = lines.filter((l) => l.type === "epoch");
  assert.equal(epochs.length, 3);
  assert.ok(
    batches.at(-1).loss < batches[0].loss - 1,
    `loss ${batches[0].loss} → ${batches.at(-1).loss}`,
  );
  assert.ok(epochs[2].valid_ppl < epochs[0].valid_ppl);
  const model = join(runs, "fall", "model");
  const m = await loadModel(model);
  const r = await quiet(() =>
    evaluate([
      "--model",
      model,
      "--data",
      data,
      "--split",
      "valid",
      "--skip-md5",
      "--backend",
      "wasm",
    ])
  );
  assert.ok(Math.abs((r as { perplexity: number }).perplexity - m.meta.metrics.valid_ppl!) < 1e-3);
  assert.ok(m.meta.metrics.valid_ppl! < 30, `valid ppl ${m.meta.metrics.valid_ppl}`);
});

Deno.test("train --resume replaces exactly the flags given again (--lr-orth is not --lr)", async () => {
  await useWasm();
  const data = await writeSmallCorpus(), runs = await tempDir();
  const first = [...smallRunArgs(data, runs, "flags"), "--lr", "0.005", "--lr-decay", "0.3"];
  await quiet(() => train([...first, "--max-steps", "2", "--checkpoint-every", "1"]));
  const dir = join(runs, "flags");
  const trainCfg = async () => JSON.parse(await readFile(join(dir, "config.json"), "utf8")).train;
  await quiet(() => train(["--resume", dir, "--lr-orth", "0.0001", "--max-steps", "3"]));
  let cfg = await trainCfg();
  assert.deepEqual([cfg.lr, cfg.lrOrth, cfg.lrDecay, cfg.maxSteps], [0.005, 0.0001, 0.3, 3]);
  await quiet(() => train(["--resume", dir, "--lr-decay=0.7", "--max-steps", "4"]));
  cfg = await trainCfg();
  assert.deepEqual([cfg.lr, cfg.lrOrth, cfg.lrDecay], [0.005, 0.0001, 0.7]);
  await quiet(() => train(["--resume", dir, "--lr", "0.001", "--max-steps", "5"]));
  cfg = await trainCfg();
  assert.deepEqual([cfg.lr, cfg.lrOrth, cfg.lrDecay], [0.001, 0.0001, 0.7]);
});

Deno.test("dataName() records $PTB_DIR or a relative path, never a machine's absolute path", () => {
  assert.equal(dataName("/somewhere/ptb", { PTB_DIR: "/somewhere/ptb/" }), "$PTB_DIR");
  assert.equal(dataName("data/ptb", {}), "data/ptb");
});

Deno.test("a run with its state reset every window writes stateResetEvery, and eval reads it so", async () => {
  await useWasm();
  const data = await writeSmallCorpus(3);
  const runs = await tempDir();
  await quiet(() =>
    train([...smallRunArgs(data, runs, "reset"), "--state-reset", "window", "--epochs", "1"])
  );
  const model = join(runs, "reset", "model");
  const m = await loadModel(model);
  assert.equal(m.meta.stateResetEvery, 5);
  const r = await quiet(() =>
    evaluate(["--model", model, "--data", data, "--split", "valid", "--skip-md5"])
  );
  assert.ok(Math.abs((r as { perplexity: number }).perplexity - m.meta.metrics.valid_ppl!) < 1e-3);
  await assert.rejects(
    train([...smallRunArgs(data, runs, "long"), "--state-reset", "window", "--bptt", "1001"]),
    /--state-reset window takes --bptt up to 1000, got 1001/,
  );
});

Deno.test("train --recurrence fused follows the composed path's loss curve for 20 steps", async () => {
  await useWasm();
  const data = await writeSmallCorpus(5);
  const runs = await tempDir();
  const cells = [
    ["rnn"],
    ["urnn", "--activation", "modrelu"],
    ["ugru", "--dropout", "0.2"],
    ["lstm"],
    ["curnn", "--activation", "modrelu"],
    ["cugru"],
  ];
  for (const [cell, ...rest] of cells) {
    const losses = async (recurrence: string) => {
      const name = `${cell}-${recurrence}`;
      await quiet(() =>
        train([
          ...smallRunArgs(data, runs, name),
          ...["--cell", cell!, ...rest, "--recurrence", recurrence],
          ...["--max-steps", "20", "--log-every", "1", "--lr", "0.01"],
        ])
      );
      return (await readFile(join(runs, name, "metrics.jsonl"), "utf8")).trim().split("\n")
        .map((l) => JSON.parse(l)).filter((r) => r.type === "batch").map((r) => r.loss as number);
    };
    const fused = await losses("fused"), composed = await losses("composed");
    assert.equal(fused.length, 20);
    assert.equal(composed.length, 20);
    for (let i = 0; i < 20; i++) {
      const e = Math.abs(fused[i]! - composed[i]!) / composed[i]!;
      assert.ok(e <= 1e-4, `${cell} step ${i + 1}: ${fused[i]} vs ${composed[i]}`);
    }
    assert.ok(Math.min(...fused) < fused[0]! - 0.1, `${cell}: training moved the loss`);
  }
});
