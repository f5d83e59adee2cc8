/**
 * Serving benchmark (not a test): starts the real server (Deno) on a model and measures
 * time from process start to the first streamed token, single-stream and 32-stream
 * generation tokens/s, PTB-test-set scoring through /v1/perplexity, and the server's peak RSS.
 *
 *   deno task bench:serve [--model DIR] [--streams 32] [--tokens 300] [--data DIR]
 *
 * Without --model it saves an untrained 256-unit uGRU with the 10k PTB vocabulary (same
 * speed as a trained one) to a temp folder.
 */
import { readFile, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { initBackend } from "../shared/backend.ts";
import { parseModelConfig } from "../shared/config.ts";
import { initParams } from "../shared/model.ts";
import { saveModel } from "../shared/model_format.ts";
import { ptbDir, ptbTokens, readPtbSplit } from "../shared/ptb.ts";
import { tempDir } from "../shared/testing.ts";
import { buildVocab } from "../shared/vocab.ts";

const { values: flags } = parseArgs({
  options: {
    model: { type: "string" },
    streams: { type: "string", default: "32" },
    tokens: { type: "string", default: "300" },
    data: { type: "string" },
    hidden: { type: "string", default: "256" },
  },
});
const streams = Number(flags.streams), tokens = Number(flags.tokens);
const data = ptbDir(flags.data);

async function untrainedModel(): Promise<string> {
  await initBackend("wasm");
  const vocab = buildVocab(ptbTokens(await readPtbSplit(data, "train")));
  const h = Number(flags.hidden);
  const config = parseModelConfig({
    cell: "ugru",
    vocabSize: vocab.words.length,
    embedSize: h,
    hiddenSize: h,
  });
  const dir = join(await tempDir("rotor-bench-"), "ptb-ugru-untrained");
  await saveModel(dir, {
    config,
    params: initParams(config, 1),
    vocab,
    provenance: { command: "bench:serve (untrained)" },
  });
  return dir;
}

const modelDir = flags.model ?? await untrainedModel();
const bin = join(Deno.cwd(), "node_modules", ".bin", "deno");
const t0 = performance.now();
const child = new Deno.Command(bin, {
  args: ["run", "-A", "server/main.ts"],
  env: {
    MODELS_DIR: dirname(modelDir),
    DEFAULT_MODEL: basename(modelDir),
    PORT: "0",
    MAX_ACTIVE_STREAMS: String(Math.max(32, streams)),
  },
  stdout: "piped",
}).spawn();
const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let log = "", url: string | undefined;
while (!url) {
  const { value, done } = await out.read();
  if (done) throw new Error(`The server exited before listening:\n${log}`);
  log += value;
  url = /listening on (http:\/\/[\d.]+:\d+)\//.exec(log)?.[1];
}
void out.read().then(function drain(r): unknown {
  return r.done ? undefined : out.read().then(drain);
});

const post = (path: string, body: unknown) =>
  fetch(url + path, { method: "POST", body: JSON.stringify(body) });

/** Stream one generation; returns when its first token arrived and how many came. */
async function stream(maxTokens: number, seed: number) {
  const res = await post("/v1/generate", { max_tokens: maxTokens, seed, temperature: 1 });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let first: number | undefined, n = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const k = value.match(/^event: token$/gm)?.length ?? 0;
    if (k > 0 && first === undefined) first = performance.now();
    n += k;
  }
  return { first: first!, n };
}

const firstToken = (await stream(1, 1)).first - t0;
await stream(50, 2); // warm-up

let t = performance.now();
const single = await stream(tokens * 3, 3);
const singleRate = single.n / ((performance.now() - t) / 1000);

t = performance.now();
const many = await Promise.all(Array.from({ length: streams }, (_, i) => stream(tokens, 10 + i)));
const manyRate = many.reduce((n, s) => n + s.n, 0) / ((performance.now() - t) / 1000);

const testText = await readPtbSplit(data, "test");
t = performance.now();
const pp = await (await post("/v1/perplexity", { text: testText, lines: true })).json();
const scoreS = (performance.now() - t) / 1000;

const status = await readFile(`/proc/${child.pid}/status`, "utf8").catch(() => "");
const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
child.kill("SIGTERM");
await child.status;
if (!flags.model) await rm(dirname(modelDir), { recursive: true });

const cfgLine = log.split("\n").find((l) => l.startsWith("model ")) ?? "";
console.log(cfgLine);
console.log(`time from process start to first streamed token  ${firstToken.toFixed(0)} ms`);
console.log(`single-stream generation                          ${singleRate.toFixed(0)} tokens/s`);
console.log(
  `${streams} concurrent streams, aggregate                   ${manyRate.toFixed(0)} tokens/s ` +
    `(${(manyRate / singleRate).toFixed(1)}× single)`,
);
console.log(
  `PTB test set through /v1/perplexity                ${pp.tokens} tokens in ${
    scoreS.toFixed(1)
  } s ` +
    `= ${(pp.tokens / scoreS).toFixed(0)} tokens/s (perplexity ${pp.perplexity.toFixed(1)})`,
);
console.log(`server peak RSS                                    ${hwm.toFixed(0)} MiB`);
