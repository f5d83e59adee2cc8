/**
 * The server under test for `deno task fuzz:serve`: started as a subprocess of either runtime,
 * its memory read from /proc and /metrics, and a fingerprint of its answers to compare before
 * and after (a poisoned heap changes them).
 */
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { tempDir } from "../shared/testing.ts";
import { DENO_SERVE_FLAGS } from "../server/startup.ts";

/** The RSS (or its peak) of process `pid`, in MB. */
export async function rssMB(pid: number, field: "VmRSS" | "VmHWM" = "VmRSS"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024 / 1e6;
}

/** The server's memory by kind, from its /metrics, in MB. */
export async function serverMemoryMB(url: string): Promise<Record<string, number>> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text()).catch(() => "");
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^rotor_memory_bytes\{kind="(\w+)"\} (\S+)$/gm)) {
    out[m[1]!] = Number(m[2]) / 1e6;
  }
  return out;
}

/** A models folder with the model and a hostile folder whose model.json names /etc/passwd. */
export async function modelsFolder(model: string): Promise<string> {
  const parent = await tempDir("rotor-fuzz-");
  await symlink(resolve(model), join(parent, "model"));
  await mkdir(join(parent, "escape"));
  const meta = JSON.parse(await readFile(join(model, "model.json"), "utf8"));
  meta.vocab.file = "../../../../../../etc/passwd";
  await writeFile(join(parent, "escape", "model.json"), JSON.stringify(meta));
  return parent;
}

/** The command line of a runtime's server. */
export function serverCommand(runtime: string): string[] {
  const root = new URL("..", import.meta.url).pathname;
  return runtime === "bun"
    ? [join(root, "node_modules/.bin/bun"), join(root, "server/main_bun.ts")]
    : [Deno.execPath(), "run", "-A", ...DENO_SERVE_FLAGS, join(root, "server/main.ts")];
}

/**
 * Start a server; resolves with its URL and process once it listens. With `fdLimit` it runs
 * under `ulimit -n fdLimit` (through bash).
 */
export async function startServer(
  runtime: string,
  modelsDir: string,
  env: Record<string, string>,
  fdLimit?: number,
) {
  const cmd = serverCommand(runtime);
  const quoted = cmd.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const argv = fdLimit ? ["bash", "-c", `ulimit -n ${fdLimit} && exec ${quoted}`] : cmd;
  const child = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: { ...env, MODELS_DIR: modelsDir, DEFAULT_MODEL: "model", PORT: "0", HOST: "127.0.0.1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url && Date.now() < deadline) {
    const { value, done } = await out.read();
    if (done) break;
    log += value;
    url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
  }
  if (!url) {
    child.kill("SIGKILL");
    throw new Error(`The ${runtime} server did not start:\n${log}`);
  }
  // Keep reading its output so the pipes never fill; stderr has the skipped folder's line.
  let errLog = "";
  void (async () => {
    for (;;) if ((await out.read().catch(() => ({ done: true }))).done) break;
  })();
  void (async () => {
    for await (const s of child.stderr.pipeThrough(new TextDecoderStream())) errLog += s;
  })().catch(() => {});
  return { url, child, errLog: () => errLog };
}

/** A seeded generation and score, to compare before and after: a poisoned heap changes them. */
export async function fingerprint(url: string): Promise<string> {
  const g = await fetch(`${url}/v1/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt: "the company", max_tokens: 20, seed: 7, stream: false }),
  }).then((r) => r.json());
  const p = await fetch(`${url}/v1/perplexity`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "the company said it would buy a stake .", per_token: true }),
  }).then((r) => r.json());
  return JSON.stringify([g.tokens, p.per_token]);
}
