/**
 * The connection budget of the real entry points, as subprocesses under `ulimit -n 256` on Deno
 * and on Bun: a flood of silent sockets, held open past the descriptor limit, must not end the
 * server, /health must be answered during it, and everything must work again once the flood
 * leaves; idle, half-sent and HTTP/2 connections are closed.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { saveSmallModel, tempDir, useWasm } from "../shared/testing.ts";
import { DENO_SERVE_FLAGS } from "./startup.ts";

const bin = (name: string) => join(Deno.cwd(), "node_modules", ".bin", name);

async function startServer(cmd: string, env: Record<string, string>) {
  const child = new Deno.Command("bash", {
    args: ["-c", `ulimit -n 256 && exec ${cmd}`],
    env: { ...env, PORT: "0" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "", url: string | undefined;
  const deadline = Date.now() + 30_000;
  while (!url && Date.now() < deadline) {
    const { value, done } = await lines.read();
    if (done) break;
    log += value;
    url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
  }
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await lines.cancel().catch(() => {});
    const err = await new Response(child.stderr).text();
    return { status: await child.status, err };
  };
  if (!url) throw new Error(`The server did not start:\n${log}\n${(await stop()).err}`);
  let exited = false;
  child.status.then(() => (exited = true));
  return { url, stop, exited: () => exited };
}

/** Open `n` sockets that send nothing; resolves when each has connected or failed. */
function flood(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(Array.from({ length: n }, () =>
    new Promise<net.Socket>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.on("connect", () => resolve(s));
      s.on("error", () => resolve(s));
    })));
}

async function health(url: string): Promise<number> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
  await res.body?.cancel();
  return res.status;
}

async function survivesFlood(cmd: string) {
  await useWasm();
  const parent = await tempDir("rotor-flood-");
  await rename(await saveSmallModel({}, 5), join(parent, "tiny"));
  const server = await startServer(cmd, { MODELS_DIR: parent, HEADERS_TIMEOUT_MS: "60000" });
  const port = Number(new URL(server.url).port);
  let sockets: net.Socket[] = [];
  try {
    // Twice the descriptor limit, in two waves: the second arrives at a full table.
    sockets = await flood(port, 256);
    await new Promise((r) => setTimeout(r, 400));
    sockets.push(...await flood(port, 256));
    // Held past one look of main_bun.ts's GC timer (every 2 s), which read /proc without a
    // descriptor to spare.
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await health(server.url), 200, "health during the flood");
    }
    assert.ok(!server.exited(), "the server exited during the flood");
    for (const s of sockets) s.destroy();
    sockets = [];
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 5; i++) assert.equal(await health(server.url), 200, "health after");
    const res = await fetch(`${server.url}/v1/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "the", max_tokens: 4, seed: 1, stream: false }),
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).tokens.length, 4);
    assert.ok(!server.exited(), "the server exited after the flood");
  } finally {
    for (const s of sockets) s.destroy();
    const { err } = await server.stop();
    await rm(parent, { recursive: true });
    assert.doesNotMatch(err, /Too many open files|Failed to get memory usage/);
  }
}

Deno.test("server/main.ts under ulimit -n 256 answers /health through a connection flood", () =>
  survivesFlood(`${bin("deno")} run -A ${DENO_SERVE_FLAGS.join(" ")} server/main.ts`));

Deno.test("server/main_bun.ts under ulimit -n 256 answers /health through a connection flood", () =>
  survivesFlood(`${bin("bun")} server/main_bun.ts`));

/**
 * Open a socket, send `bytes`, and resolve with what came back and how many milliseconds
 * passed until the server closed it (or `giveUpMs`, as Infinity).
 */
function closedAfter(port: number, bytes: string, giveUpMs: number) {
  return new Promise<{ ms: number; text: string }>((resolve) => {
    const t0 = Date.now();
    let text = "";
    const s = net.connect(port, "127.0.0.1", () => s.write(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ ms: Infinity, text });
    }, giveUpMs);
    s.on("data", (d) => (text += d.toString()));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - t0, text });
    });
  });
}

async function closesStuckConnections(cmd: string) {
  await useWasm();
  const parent = await tempDir("rotor-idle-");
  await rename(await saveSmallModel({}, 5), join(parent, "tiny"));
  const server = await startServer(cmd, {
    MODELS_DIR: parent,
    HEADERS_TIMEOUT_MS: "600",
    IDLE_TIMEOUT_MS: "800",
    BODY_TIMEOUT_MS: "400",
  });
  const port = Number(new URL(server.url).port);
  try {
    const [preface, half, idle, body] = await Promise.all([
      closedAfter(port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 5000),
      closedAfter(port, "GET /health HTTP/1.1\r\nhost: local", 5000),
      closedAfter(port, "GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n", 5000),
      closedAfter(
        port,
        "POST /tokenize HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n" +
          'content-length: 100\r\n\r\n{"text": "the',
        5000,
      ),
    ]);
    assert.ok(preface.ms < 300, `HTTP/2 preface closed after ${preface.ms} ms`);
    assert.ok(half.ms >= 500 && half.ms < 2000, `half-sent head closed after ${half.ms} ms`);
    assert.match(idle.text, /^HTTP\/1.1 200/);
    assert.ok(idle.ms >= 700 && idle.ms < 2500, `idle keep-alive closed after ${idle.ms} ms`);
    assert.match(body.text, /^HTTP\/1.1 408/);
    assert.ok(body.ms < 2500, `half-sent body closed after ${body.ms} ms`);
    // A client that ends its side after its request still reads the whole answer.
    const file = await new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      const s = net.connect(port, "127.0.0.1", () => {
        s.end("GET /v1/models/tiny/tokenizer.json HTTP/1.1\r\nhost: localhost\r\n\r\n");
      });
      s.on("data", (d: Buffer) => parts.push(d));
      s.on("error", () => {});
      s.on("close", () => resolve(Buffer.concat(parts)));
    });
    const text = file.toString("latin1");
    const head = text.slice(0, text.indexOf("\r\n\r\n"));
    assert.match(head, /^HTTP\/1.1 200/);
    const length = /content-length: (\d+)/i.exec(head)?.[1];
    if (length) assert.equal(file.length - head.length - 4, Number(length));
    else assert.ok(text.endsWith("\r\n0\r\n\r\n"), `an unfinished answer: ${text.slice(-40)}`);
    assert.equal(await health(server.url), 200);
  } finally {
    await server.stop();
    await rm(parent, { recursive: true });
  }
}

Deno.test("server/main.ts closes HTTP/2, half-sent and idle connections", () =>
  closesStuckConnections(`${bin("deno")} run -A server/main.ts`));

Deno.test("server/main_bun.ts closes HTTP/2, half-sent and idle connections", () =>
  closesStuckConnections(`${bin("bun")} server/main_bun.ts`));
