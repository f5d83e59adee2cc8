/**
 * A training run killed (SIGKILL) at random moments, some of them while a checkpoint is being
 * written, and resumed each time: nothing may be lost or corrupt. The model it ends with must
 * be bitwise the model of a run never interrupted, the model folder that was at --out must
 * load after every kill, and metrics.jsonl must hold every step exactly once.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { cp, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadModel } from "../shared/model_format.ts";
import { createPrng } from "../shared/prng.ts";
import { saveSmallModel, tempDir, useWasm } from "../shared/testing.ts";
import { loadResume } from "./train_state.ts";
import { quiet, smallRunArgs, writeSmallCorpus } from "./testing.ts";
import { train } from "./train.ts";
import { isTmpFile } from "./run_files.ts";
import { stagingOf } from "./model_out.ts";

const TRAIN = join(import.meta.dirname!, "train.ts");
const STEPS = 40;
const KILLS = 8;

/** Every file under `dir`, relative, for finding .tmp files at any depth. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      out.push(...(await filesUnder(join(dir, e.name))).map((f) => join(e.name, f)));
    } else out.push(e.name);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Steps the run has logged so far (a line being written may be cut; it is not counted). */
async function stepsLogged(dir: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(join(dir, "metrics.jsonl"), "utf8");
  } catch {
    return 0;
  }
  let n = 0;
  for (const l of text.split("\n")) if (l.includes('"type":"batch"') && l.endsWith("}")) n++;
  return n;
}

/**
 * Start the trainer; kill it once it has logged `step` steps (then after `jitterMs` more), or
 * (when `onWrite`) as soon as a checkpoint's temporary file appears after that. Progress, not a
 * clock, decides, so kills land on a fast machine as on a slow one. Returns whether it was
 * killed (false: it finished first).
 */
async function runAndKill(
  args: string[],
  dir: string,
  step: number,
  jitterMs: number,
  onWrite: boolean,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TRAIN, ...args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const stderr = new Response(child.stderr).text();
  let duringWrite = false;
  let reached: number | undefined;
  while (!exited) {
    const now = performance.now();
    if (reached === undefined) {
      if (await stepsLogged(dir) >= step) reached = now;
      else await sleep(2);
      continue;
    }
    if (now < reached + jitterMs) {
      await sleep(1);
      continue;
    }
    if (!onWrite || now > reached + jitterMs + 20_000) break;
    // Poll as fast as the event loop turns: a checkpoint of this size is written in ~1 ms.
    const names = existsSync(dir) ? await readdir(dir) : [];
    if (names.some((n) => n.startsWith("checkpoint.bin.") && isTmpFile(n))) {
      duringWrite = true;
      break;
    }
  }
  if (!exited) child.kill("SIGKILL");
  const s = await status;
  const killed = s.signal === "SIGKILL";
  if (!killed) assert.ok(s.success, `the trainer failed: ${await stderr}`);
  else await stderr;
  return { killed, duringWrite };
}

Deno.test("a run killed at random moments, mid-checkpoint too, resumes with nothing lost", async () => {
  await useWasm();
  const data = await writeSmallCorpus(3);
  const runs = await tempDir();
  const out = join(runs, "served-model");
  await cp(await saveSmallModel(), out, { recursive: true });
  const oldWeights = await readFile(join(out, "weights.bin"));
  const common = [
    "--cell",
    "ugru",
    "--epochs",
    "50",
    "--max-steps",
    String(STEPS),
    "--log-every",
    "1",
  ];
  const base = [...smallRunArgs(data, runs, "killed"), ...common];
  const first = [...base, "--checkpoint-every", "1", "--out", out];
  const dir = join(runs, "killed");
  const seed = Number(Deno.env.get("KILL_TEST_SEED") ?? Date.now() % 100000);
  const prng = createPrng(seed);
  let kills = 0, duringWrite = 0, finished = false;
  for (let i = 0; i < KILLS && !finished; i++) {
    const ck = join(dir, "checkpoint.bin");
    const args = existsSync(ck) ? ["--resume", dir] : first;
    // A few steps past what the run has logged (a resume goes back to its checkpoint), then
    // up to 30 ms more: the kills land early in the run, on any machine's speed.
    const step = (await stepsLogged(dir)) + 1 + Math.floor(prng.next() * 4);
    const r = await runAndKill(args, dir, step, prng.next() * 30, i % 2 === 1);
    finished = !r.killed;
    if (r.killed) kills++;
    if (r.duringWrite) duringWrite++;
    // After every kill: the checkpoint, when there is one, resumes; --out holds a whole model.
    if (existsSync(ck)) await loadResume(dir);
    // A kill between the swap's two renames leaves the old model whole, moved aside.
    await loadModel(existsSync(out) ? out : stagingOf(out).old);
  }
  const last = existsSync(join(dir, "checkpoint.bin")) ? ["--resume", dir] : first;
  await quiet(() => train(last));
  await quiet(() => train([...smallRunArgs(data, runs, "straight"), ...common]));
  const note = `(seed ${seed}: ${kills} kills, ${duringWrite} during a checkpoint write)`;
  assert.ok(kills >= 2, `too few kills landed ${note}`);
  const a = await loadModel(out), b = await loadModel(join(runs, "straight", "model"));
  assert.notDeepEqual(
    new Uint8Array(await readFile(join(out, "weights.bin"))),
    new Uint8Array(oldWeights),
  );
  for (const k of Object.keys(b.params)) {
    assert.deepEqual(a.params[k]!.dataSync(), b.params[k]!.dataSync(), `${k} differs ${note}`);
  }
  const steps = (await readFile(join(dir, "metrics.jsonl"), "utf8")).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((r) => r.type === "batch").map((r) => r.step as number);
  assert.deepEqual(steps, Array.from({ length: STEPS }, (_, i) => i + 1), `metrics ${note}`);
  assert.deepEqual((await filesUnder(runs)).filter(isTmpFile), [], `.tmp files left ${note}`);
  assert.ok(!existsSync(join(runs, ".rotor-staging")), `staging left ${note}`);
  console.log(`kill test ${note}`);
});
