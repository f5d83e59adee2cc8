/**
 * A damaged checkpoint is refused by name before anything resumes from it, and each kind of
 * damage is told apart: truncated, a damaged header, wrong shapes, NaN weights (which no
 * learning rate causes: training never saves them).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Tensor, tf } from "../shared/tf.ts";
import { tempDir, useWasm } from "../shared/testing.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { quiet, smallRunArgs, writeSmallCorpus } from "./testing.ts";
import { train } from "./train.ts";

/** A run of 3 steps; returns its folder and its checkpoint's path. */
async function smallRun(): Promise<{ dir: string; ck: string }> {
  await useWasm();
  const runs = await tempDir();
  const data = await writeSmallCorpus(4);
  await quiet(() => train([...smallRunArgs(data, runs, "r"), "--max-steps", "3"]));
  return { dir: join(runs, "r"), ck: join(runs, "r", "checkpoint.bin") };
}

const resumeError = (dir: string) =>
  quiet(() => train(["--resume", dir])).then(
    () => assert.fail("resume must fail"),
    (e: Error) => e,
  );

/** Rewrite the checkpoint with one tensor replaced. */
async function replaceTensor(ck: string, name: string, t: Tensor) {
  const c = await readCheckpoint<object>(ck);
  c.tensors[name] = t;
  await writeCheckpoint(ck, c);
}

Deno.test("resuming a truncated checkpoint names the file and says it is truncated", async () => {
  const { dir, ck } = await smallRun();
  const bytes = await readFile(ck);
  await writeFile(ck, bytes.subarray(0, bytes.length - 100));
  const err = await resumeError(dir);
  assert.match(
    err.message,
    /^Checkpoint ".*checkpoint\.bin" is truncated: it holds \d+ bytes of tensors, its header lists \d+$/,
  );
  await writeFile(ck, bytes.subarray(0, 40));
  assert.match(
    (await resumeError(dir)).message,
    /^Checkpoint ".*checkpoint\.bin" is truncated: 40 bytes, its header alone needs \d+$/,
  );
  await writeFile(ck, bytes.subarray(0, 5));
  assert.match(
    (await resumeError(dir)).message,
    /^Checkpoint ".*checkpoint\.bin" is truncated: 5 bytes/,
  );
});

Deno.test("resuming a checkpoint with a damaged header names the file", async () => {
  const { dir, ck } = await smallRun();
  const bytes = await readFile(ck);
  bytes.set(new TextEncoder().encode("}}}}"), 12);
  await writeFile(ck, bytes);
  assert.match(
    (await resumeError(dir)).message,
    /^Checkpoint ".*checkpoint\.bin" has a damaged header: /,
  );
});

Deno.test("resuming a checkpoint of the wrong shapes names the file and the tensor", async () => {
  const { dir, ck } = await smallRun();
  await replaceTensor(ck, "param/layer0/U_r", tf.zeros([3, 3]));
  assert.equal(
    (await resumeError(dir)).message,
    `Checkpoint "${ck}" has tensor "param/layer0/U_r" of shape [3, 3], its model config wants [8, 8]`,
  );
  await replaceTensor(ck, "param/layer0/U_r", tf.zeros([8, 8]));
  const c = await readCheckpoint<object>(ck);
  delete c.tensors["param/embedding"];
  await writeCheckpoint(ck, c);
  assert.equal(
    (await resumeError(dir)).message,
    `Checkpoint "${ck}" lacks tensor "param/embedding" that its model config needs`,
  );
});

Deno.test("resuming a NaN checkpoint says the file is damaged, not that --lr is too high", async () => {
  const { dir, ck } = await smallRun();
  await replaceTensor(ck, "param/layer0/W", tf.fill([8, 24], NaN));
  const err = await resumeError(dir);
  assert.match(
    err.message,
    /^Checkpoint ".*checkpoint\.bin" holds NaN or infinite values in "param\/layer0\/W": the file is damaged/,
  );
  assert.match(err.message, /a lower --lr will not help/);
});
