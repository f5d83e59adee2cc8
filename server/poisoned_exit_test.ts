/** A poisoned server as a real process: it says so, ends open streams, and exits 70. */
import assert from "node:assert/strict";
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { saveSmallModel, tempDir, useWasm } from "../shared/testing.ts";
import { DENO_SERVE_FLAGS, POISONED_EXIT } from "./startup.ts";
import { killServer, spawnServer } from "./testing.ts";

const bin = (name: string) => join(Deno.cwd(), "node_modules", ".bin", name);
const post = (url: string, body: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

async function poisonedExit(cmd: string[]): Promise<void> {
  await useWasm();
  const dir = await tempDir("rotor-fault-");
  await rename(await saveSmallModel({}, 5), join(dir, "tiny"));
  const flag = join(dir, "fault");
  const { child, url, stderr } = await spawnServer(cmd, { MODELS_DIR: dir, FAULT_FILE: flag });
  try {
    const ok = await post(`${url}/v1/perplexity`, { text: "the said" });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const open = await post(`${url}/v1/generate`, { max_tokens: 2048 });
    const reader = open.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value!;
    assert.match(text, /^event: token/);

    await writeFile(flag, "");
    const bad = await post(`${url}/v1/perplexity`, { text: "the said" });
    assert.equal(bad.status, 503);
    assert.match((await bad.json()).error.message, /The backend failed .*must restart/);
    const health = await fetch(`${url}/health`);
    assert.equal(health.status, 503);
    assert.equal((await health.json()).status, "poisoned");
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
    assert.match(text, /event: error\ndata: \{"error":\{"message":"The backend failed/);
    assert.doesNotMatch(text, /event: done/);

    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const status = await child.status;
    clearTimeout(timer);
    assert.equal(status.code, POISONED_EXIT, `exit status ${status.code}`);
    assert.match(await stderr, /The backend failed \(memory access out of bounds\)/);
  } finally {
    await killServer(child);
    await rm(dir, { recursive: true });
  }
}

Deno.test("a poisoned Deno server ends its streams and exits 70 for its supervisor", async () => {
  await poisonedExit([bin("deno"), "run", "-A", ...DENO_SERVE_FLAGS, "server/testing_fault.ts"]);
});

Deno.test("a poisoned Bun server ends its streams and exits 70 for its supervisor", async () => {
  await poisonedExit([bin("bun"), "server/testing_fault.ts"]);
});
