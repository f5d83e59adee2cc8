/**
 * Stopping on a signal: createShutdown's order of events, then the real servers as processes
 * (Deno, Bun, and `npm start`, whose signal must reach the server itself).
 */
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { saveSmallModel, tempDir, useWasm } from "../shared/testing.ts";
import { createShutdown, EXIT_NOW } from "./shutdown.ts";
import { DENO_SERVE_FLAGS, DENO_SERVE_READ, denoServePermissions } from "./startup.ts";

function fakeServer(drainMs: number, graceMs: number) {
  const events: string[] = [];
  let exited!: (code: number) => void;
  const exit = new Promise<number>((r) => exited = r);
  const stop = createShutdown({
    graceMs,
    stopAccepting: () =>
      new Promise((r) => setTimeout(r, drainMs)).then(() => {
        events.push("drained");
      }),
    endStreams: (err) => events.push(`ended: ${err.message}`),
    exit: (code) => {
      events.push(`exit ${code}`);
      exited(code);
    },
    log: () => {},
  });
  return { events, exit, stop };
}

Deno.test("createShutdown() exits 0 once the open requests finish within the grace period", async () => {
  const s = fakeServer(20, 5_000);
  s.stop("SIGTERM");
  assert.equal(await s.exit, 0);
  assert.deepEqual(s.events, ["drained", "exit 0"]);
});

Deno.test("createShutdown() ends the streams still open after the grace period, then exits 0", async () => {
  const s = fakeServer(60_000, 30);
  s.stop("SIGINT");
  assert.equal(await s.exit, 0);
  assert.deepEqual(s.events, ["ended: The server is shutting down", "exit 0"]);
});

Deno.test("createShutdown() exits at once on a second signal", async () => {
  const s = fakeServer(60_000, 60_000);
  s.stop("SIGTERM");
  s.stop("SIGTERM");
  assert.equal(await s.exit, EXIT_NOW.SIGTERM);
  assert.deepEqual(s.events, ["exit 143"]);
});

const bin = (name: string) => join(Deno.cwd(), "node_modules", ".bin", name);

/** A folder holding one tiny model, "tiny". */
async function modelsDir(): Promise<string> {
  await useWasm();
  const parent = await tempDir("rotor-stop-");
  await rename(await saveSmallModel({}, 5), join(parent, "tiny"));
  return parent;
}

interface Started {
  child: Deno.ChildProcess;
  url: string;
  log: () => string;
}

async function start(cmd: string[], env: Record<string, string>): Promise<Started> {
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env: { PORT: "0", HOST: "127.0.0.1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  void new Response(child.stderr).text().then((t) => log += t);
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let url: string | undefined;
  while (!url) {
    const { value, done } = await lines.read();
    if (done) {
      await child.status;
      assert.fail(`the server did not start:\n${log}`);
    }
    log += value;
    url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
  }
  void (async () => {
    for (let r = await lines.read(); !r.done; r = await lines.read()) log += r.value;
  })();
  return { child, url, log: () => log };
}

/** Read a stream until it ends; returns its text. */
async function drain(res: Response): Promise<string> {
  let text = "";
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += r.value;
  return text;
}

const generate = (url: string, maxTokens: number) =>
  fetch(`${url}/v1/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ max_tokens: maxTokens, seed: 3 }),
  });

/**
 * SIGTERM to `pid` while a short and an endless stream are open: the short one finishes, the
 * endless one ends with an `error` event when the grace period is over, the listener is
 * closed, and the process that was signalled exits 0.
 */
async function stopsCleanly(s: Started, pid = s.child.pid): Promise<void> {
  const endless = await generate(s.url, 1_000_000);
  const endlessText = drain(endless);
  const short = await generate(s.url, 20);
  const shortText = drain(short);
  const t0 = performance.now();
  Deno.kill(pid, "SIGTERM");
  const timer = setTimeout(() => s.child.kill("SIGKILL"), 20_000);
  const status = await s.child.status;
  clearTimeout(timer);
  const ms = performance.now() - t0;
  assert.equal(status.code, 0, `exit status ${status.code}:\n${s.log()}`);
  assert.ok(ms >= GRACE_MS && ms < GRACE_MS + 10_000, `exited after ${ms.toFixed(0)} ms`);
  assert.match(s.log(), /SIGTERM: no new connections; open requests have 3000 ms/);
  assert.match(
    await shortText,
    /event: done\ndata: \{"finish_reason":"length","generated_tokens":20/,
  );
  const text = await endlessText;
  assert.match(
    text,
    /event: error\ndata: \{"error":\{"message":"The server is shutting down","type":"service_unavailable"/,
  );
  assert.doesNotMatch(text, /event: done/);
  await assert.rejects(fetch(`${s.url}/health`), "the listener is still open");
}

/** Long enough for a 20-token stream on a loaded machine, far too short for an endless one. */
const GRACE_MS = 3000;

const env = (dir: string) => ({
  MODELS_DIR: dir,
  SHUTDOWN_GRACE_MS: String(GRACE_MS),
  MAX_TOKENS: "1000000",
});

/** The Deno server as `deno task start` runs it, with `dir` in place of models/. */
const denoCmd = (dir: string) => [
  bin("deno"),
  "run",
  ...denoServePermissions([dir, ...DENO_SERVE_READ.slice(1), realpathSync("node_modules")]),
  ...DENO_SERVE_FLAGS,
  "server/main.ts",
];
const bunCmd = () => [bin("bun"), "server/main_bun.ts"];

Deno.test("the Deno server drains its streams on SIGTERM and exits 0", async () => {
  const dir = await modelsDir();
  try {
    const s = await start(denoCmd(dir), env(dir));
    await stopsCleanly(s);
  } finally {
    await rm(dir, { recursive: true });
  }
});

Deno.test("the Bun server drains its streams on SIGTERM and exits 0", async () => {
  const dir = await modelsDir();
  try {
    await stopsCleanly(await start(bunCmd(), env(dir)));
  } finally {
    await rm(dir, { recursive: true });
  }
});

for (const runtime of ["deno", "bun"]) {
  Deno.test(`the ${runtime} server exits 0 at once on SIGTERM when no request is open`, async () => {
    const dir = await modelsDir();
    try {
      const s = await start(runtime === "deno" ? denoCmd(dir) : bunCmd(), {
        ...env(dir),
        SHUTDOWN_GRACE_MS: "60000",
      });
      const t0 = performance.now();
      s.child.kill("SIGTERM");
      assert.equal((await s.child.status).code, 0, s.log());
      const ms = performance.now() - t0;
      assert.ok(ms < 10_000, `exited after ${ms.toFixed(0)} ms, not at once`);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  Deno.test(`a second signal stops the ${runtime} server at once`, async () => {
    const dir = await modelsDir();
    try {
      const s = await start(runtime === "deno" ? denoCmd(dir) : bunCmd(), {
        ...env(dir),
        SHUTDOWN_GRACE_MS: "60000",
      });
      const open = drain(await generate(s.url, 1_000_000)).catch(() => "");
      s.child.kill("SIGINT");
      await new Promise((r) => setTimeout(r, 100));
      s.child.kill("SIGINT");
      assert.equal((await s.child.status).code, EXIT_NOW.SIGINT);
      await open;
    } finally {
      await rm(dir, { recursive: true });
    }
  });
}

Deno.test("npm start: SIGTERM to npm reaches the server, which drains and exits", async () => {
  // npm start reads models/ only (its permissions); the shipped models are there.
  const s = await start(["npm", "start", "--silent"], {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    MAX_TOKENS: "1000000",
  });
  await stopsCleanly(s);
});
