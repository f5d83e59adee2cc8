/**
 * The attacks of `deno task fuzz:serve` that need more than one request: a connection flood
 * against a server under a lowered descriptor limit, a model server that redirects, and the
 * requests a web page could make of a server on loopback (another origin, a rebound Host).
 * Each gives a line for the table and whether it held.
 */
import net from "node:net";
import { serverCommand, startServer } from "./fuzz_server.ts";

export interface AttackResult {
  name: string;
  ok: boolean;
  detail: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Open `n` sockets that send nothing; resolves once each has connected or failed. */
function silentSockets(port: number, n: number): Promise<net.Socket[]> {
  return Promise.all(Array.from({ length: n }, () =>
    new Promise<net.Socket>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.on("connect", () => resolve(s));
      s.on("error", () => resolve(s));
    })));
}

/** GET /health once: its status (0: no answer within 5 s) and latency. */
async function health(url: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - t0 };
  } catch {
    return { status: 0, ms: performance.now() - t0 };
  }
}

/**
 * Twice `fdLimit` silent connections, held past the GC timer's look (2 s), against a server
 * started under `ulimit -n fdLimit`: /health must answer during and after, and the process live.
 */
export async function connectionFlood(
  runtime: string,
  modelsDir: string,
  fdLimit = 256,
): Promise<AttackResult> {
  const name = `connection flood, ulimit -n ${fdLimit}`;
  const server = await startServer(runtime, modelsDir, {}, fdLimit);
  let sockets: net.Socket[] = [];
  try {
    const port = Number(new URL(server.url).port);
    sockets = await silentSockets(port, fdLimit);
    sockets.push(...await silentSockets(port, fdLimit));
    const during = [];
    for (let i = 0; i < 3; i++) {
      await sleep(1000);
      during.push(await health(server.url));
    }
    for (const s of sockets) s.destroy();
    sockets = [];
    await sleep(500);
    const after = [await health(server.url), await health(server.url)];
    const exited = await Promise.race([server.child.status.then(() => true), sleep(50)]);
    const ok = !exited && [...during, ...after].every((h) => h.status === 200);
    const worst = Math.max(...during.map((h) => h.ms));
    return {
      name,
      ok,
      detail: `/health during ${during.map((h) => h.status).join(", ")} (max ${
        worst.toFixed(0)
      } ms), after ${after.map((h) => h.status).join(", ")}${exited ? "; the server exited" : ""}`,
    };
  } finally {
    for (const s of sockets) s.destroy();
    try {
      server.child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await server.child.status;
  }
}

/**
 * A model server whose model.json redirects outside the model's URL: the server must refuse
 * the model (exit 1, naming the redirect) without fetching the target.
 */
export async function redirectingModel(runtime: string): Promise<AttackResult> {
  const name = "MODEL_URL redirecting outside its prefix";
  let fetched = 0;
  const models = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/secret")) fetched++;
    return Response.redirect(new URL("/secret/model.json", req.url), 302);
  });
  try {
    const cmd = serverCommand(runtime);
    const out = await new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      env: { MODEL_URL: `http://127.0.0.1:${models.addr.port}/m/model/`, PORT: "0" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    const named = /redirects to ".*\/secret\/model\.json", outside/.test(err);
    return {
      name,
      ok: out.code === 1 && named && fetched === 0,
      detail: `exit ${out.code}, ${named ? "the redirect named" : "no word of the redirect"}, ` +
        `target fetched ${fetched} times`,
    };
  } finally {
    await models.shutdown();
  }
}

/** Send a raw HTTP/1.1 request; the status of its answer. */
async function rawStatus(port: number, request: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const buf = new Uint8Array(1024);
    const n = await conn.read(buf);
    return Number(/^HTTP\/1\.1 (\d+)/.exec(new TextDecoder().decode(buf.subarray(0, n ?? 0)))?.[1]);
  } finally {
    conn.close();
  }
}

/** What a web page can send: a rebound Host, another origin, text/plain and form bodies. */
export async function browserRequests(url: string): Promise<AttackResult[]> {
  const port = Number(new URL(url).port);
  const body = JSON.stringify({ prompt: "the", max_tokens: 2, stream: false });
  const len = new TextEncoder().encode(body).length;
  const post = (lines: string[]) =>
    rawStatus(
      port,
      [
        "POST /v1/generate HTTP/1.1",
        ...lines,
        `content-length: ${len}`,
        "connection: close",
        "",
        body,
      ].join("\r\n"),
    );
  const cases: [string, Promise<number>, number][] = [
    [
      "foreign Host (DNS rebinding)",
      rawStatus(
        port,
        "GET /v1/models HTTP/1.1\r\nhost: rebind.example:8000\r\nconnection: close\r\n\r\n",
      ),
      403,
    ],
    [
      "text/plain POST from another origin",
      post(["host: 127.0.0.1", "origin: https://evil.example", "content-type: text/plain"]),
      403,
    ],
    ["text/plain POST", post(["host: 127.0.0.1", "content-type: text/plain"]), 415],
    [
      "form POST",
      post(["host: localhost", "content-type: application/x-www-form-urlencoded"]),
      415,
    ],
    [
      "JSON POST from the server's own origin",
      post([`host: 127.0.0.1:${port}`, `origin: ${url}`, "content-type: application/json"]),
      200,
    ],
  ];
  const out: AttackResult[] = [];
  for (const [name, status, want] of cases) {
    const got = await status.catch(() => 0);
    out.push({ name, ok: got === want, detail: `${got} (want ${want})` });
  }
  return out;
}
