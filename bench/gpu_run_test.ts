import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../shared/testing.ts";
import { writeSmallCorpus } from "../trainer/testing.ts";

/** One call of the prepared GPU run in its dry-run mode (wasm, toy sizes): its output. */
async function call(env: Record<string, string>, mode = "dry-run"): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["bench/gpu_run.sh", mode],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  return text;
}

Deno.test("gpu_run.sh dry-run continues across calls until every stage is done, then does nothing", async () => {
  const data = await writeSmallCorpus(3);
  const root = await tempDir("rotor-gpu-run-");
  const state = join(root, "gpu");
  const env = {
    PTB_DIR: data,
    ROTOR_GPU_STATE: state,
    ROTOR_GPU_BACKEND: "wasm",
    OUT: join(root, "out"),
  };
  const calls: string[] = [];
  for (let i = 0; i < 8 && !/call ends: 0 of/.test(calls.at(-1) ?? ""); i++) {
    calls.push(await call(env));
  }
  assert.match(calls[0]!, /train-ugru: not finished, continues next call/);
  assert.ok(calls.length >= 3, `the training stages took several calls: ${calls.length}`);
  assert.match(calls.at(-1)!, /call ends: 0 of 7 stages left/);
  const progress = await readFile(join(state, "progress.log"), "utf8");
  const stages = [
    ...["bench-webgpu", "bench-torch", "train-ugru", "train-urnn", "toy-copy", "eval"],
    "toy-copy-complex",
  ];
  for (const s of stages) {
    assert.equal(progress.match(new RegExp(`${s}: done`, "g"))?.length, 1, `${s} ran once`);
    assert.ok(existsSync(join(state, "done", s)));
  }
  // The later chunks resumed the checkpoint rather than starting again.
  const ugru = await readFile(join(state, "logs", "train-ugru.log"), "utf8");
  assert.match(ugru, /resuming .*train-ugru for/);
  const evalJson = JSON.parse(
    await readFile(join(state, "models", "train-ugru", "eval-test.json"), "utf8"),
  );
  assert.ok(evalJson.perplexity > 1 && evalJson.perplexity < 100, JSON.stringify(evalJson));
  assert.ok(existsSync(join(root, "out", "state.tar.xz.part00")));
  assert.ok(existsSync(join(root, "out", "progress.log")));
  // Once everything is done, a call starts no stage.
  const again = await call(env);
  assert.doesNotMatch(again, /: start/);
  assert.match(await call(env, "status"), /done {2}eval/);
});
