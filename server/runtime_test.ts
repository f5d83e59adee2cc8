/** The real entry points as subprocesses, under Deno and under Bun. */
import assert from "node:assert/strict";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { saveSmallModel, tempDir, useWasm } from "../shared/testing.ts";
import { DENO_SERVE_FLAGS } from "./startup.ts";

async function modelsDir(): Promise<string> {
  await useWasm();
  const parent = await tempDir("rotor-models-");
  await rename(await saveSmallModel({}, 5), join(parent, "tiny"));
  return parent;
}

/** Start a server, wait for its "listening on" line, run `f` against it, then stop it. */
async function withServer(
  cmd: string[],
  env: Record<string, string>,
  f: (url: string) => Promise<void>,
): Promise<void> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env: { ...env, PORT: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  try {
    let url: string | undefined;
    const deadline = Date.now() + 30_000;
    while (!url && Date.now() < deadline) {
      const { value, done } = await lines.read();
      if (done) break;
      log += value;
      url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
    }
    assert.ok(url, `the server did not start:\n${log}`);
    assert.match(log, /backend wasm/);
    assert.match(log, /model tiny: ugru 1×8/);
    await f(url);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await lines.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
  }
}

async function exercise(url: string): Promise<void> {
  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const res = await fetch(`${url}/v1/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "the", max_tokens: 8, seed: 1 }),
  });
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const text = await res.text();
  assert.equal(text.match(/^event: token$/gm)?.length, 8);
  assert.match(text, /event: done\ndata: \{"finish_reason":"length","generated_tokens":8,"seed":1/);
  const pp = await (await fetch(`${url}/v1/perplexity`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "It said the company is N." }),
  })).json();
  assert.equal(pp.tokens, 7);
  assert.ok(pp.perplexity > 1 && pp.perplexity < 64, `perplexity ${pp.perplexity}`);
  // The connection front's thread reports its own heap as soon as it listens.
  const metrics = await (await fetch(`${url}/metrics`)).text();
  for (const kind of ["front_js_heap", "front_external", "js_heap"]) {
    const bytes = Number(
      new RegExp(`rotor_memory_bytes\\{kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1],
    );
    assert.ok(bytes > 0, `${kind} in /metrics:\n${metrics}`);
  }
}

const bin = (name: string) => join(Deno.cwd(), "node_modules", ".bin", name);

Deno.test("server/main.ts serves under Deno: streams a generation and scores a text", async () => {
  const dir = await modelsDir();
  try {
    await withServer([bin("deno"), "run", "-A", ...DENO_SERVE_FLAGS, "server/main.ts"], {
      MODELS_DIR: dir,
    }, exercise);
  } finally {
    await rm(dir, { recursive: true });
  }
});

Deno.test("server/main_bun.ts serves under Bun: streams a generation and scores a text", async () => {
  const dir = await modelsDir();
  try {
    await withServer([bin("bun"), "server/main_bun.ts"], { MODELS_DIR: dir }, exercise);
  } finally {
    await rm(dir, { recursive: true });
  }
});

/**
 * A client that is still sending its body, a byte every 2 ms of a declared 100,000, when its
 * time runs out: what status it reads back ("no answer" when the connection ends without one).
 */
async function stillSending(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const enc = new TextEncoder();
  let answer = "";
  const reading = (async () => {
    const buf = new Uint8Array(4096);
    try {
      for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
        answer += new TextDecoder().decode(buf.subarray(0, n));
        if (answer.includes("\r\n\r\n")) break;
      }
    } catch {
      // reset: no answer
    }
  })();
  try {
    await conn.write(enc.encode(
      "POST /tokenize HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n" +
        'content-length: 100000\r\n\r\n{"text": "',
    ));
    for (const t0 = Date.now(); answer === "" && Date.now() - t0 < 5000;) {
      await conn.write(enc.encode("a"));
      await new Promise((r) => setTimeout(r, 2));
    }
  } catch {
    // the server closed the connection
  }
  await reading;
  try {
    conn.close();
  } catch {
    // already closed
  }
  return /^HTTP\/1\.1 (\d+)/.exec(answer)?.[1] ?? "no answer";
}

// Deno answers every such client 408; Bun may close without it (server/README.md, "Known
// limit"), but every connection ends at once either way: none is held for a later answer.
for (const runtime of ["deno", "bun"]) {
  Deno.test(`a client still sending its body when its time runs out gets the 408 or the close at once (${runtime})`, async () => {
    const dir = await modelsDir();
    const cmd = runtime === "bun"
      ? [bin("bun"), "server/main_bun.ts"]
      : [bin("deno"), "run", "-A", ...DENO_SERVE_FLAGS, "server/main.ts"];
    try {
      await withServer(cmd, { MODELS_DIR: dir, BODY_TIMEOUT_MS: "1000" }, async (url) => {
        const tally: Record<string, number> = {};
        for (let round = 0; round < 2; round++) {
          const t0 = Date.now();
          for (const s of await Promise.all(Array.from({ length: 50 }, () => stillSending(url)))) {
            tally[s] = (tally[s] ?? 0) + 1;
          }
          assert.ok(Date.now() - t0 < 4000, `round ${round}: ${Date.now() - t0} ms`);
        }
        if (runtime === "deno") assert.deepEqual(tally, { "408": 100 });
        else assert.deepEqual(Object.keys(tally).filter((k) => k !== "no answer"), ["408"]);
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });
}

Deno.test("server/main.ts without a model says how to train one and exits 1", async () => {
  const dir = await tempDir("rotor-empty-");
  const out = await new Deno.Command(bin("deno"), {
    args: ["run", "-A", "server/main.ts"],
    env: { MODELS_DIR: dir },
  }).output();
  assert.equal(out.code, 1);
  const err = new TextDecoder().decode(out.stderr);
  assert.match(err, /No model is installed/);
  assert.match(err, /deno task train --cell ugru --hidden 256 --out /);
  await rm(dir, { recursive: true });
});
