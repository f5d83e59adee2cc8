/**
 * `deno task eval --model DIR [--split valid|test | --text FILE]`: perplexity of a saved model
 * on a PTB split or on any text file (tokenized with the model's vocabulary; the
 * out-of-vocabulary rate is reported), by the protocol of shared/eval_protocol.ts.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { BACKENDS, describeBackend, initBackend, wasmThreadsFromEnv } from "../shared/backend.ts";
import { COLUMNS, evalStream, readingOptions, STREAM } from "../shared/eval_protocol.ts";
import { loadModel, parseModelFile, writeAtomic } from "../shared/model_format.ts";
import { scoreStreamAsync } from "../shared/perplexity.ts";
import { ptbDir, ptbTokens, readPtbSplit } from "../shared/ptb.ts";
import { tokenize } from "../shared/tokenize.ts";
import { encode } from "../shared/vocab.ts";
import { helpText, parseFlags, runCli } from "../shared/flags.ts";
import { formatDuration, progressLine } from "./progress.ts";

const USAGE = "usage: deno task eval --model DIR [--split valid|test | --text FILE]";
export const EVAL_FLAGS = {
  model: { schema: z.string().optional(), help: "Model folder (or http(s) URL)" },
  split: { schema: z.enum(["valid", "test"]).default("test"), help: "PTB split to score" },
  text: { schema: z.string().optional(), help: "Score this text file instead of a PTB split" },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, else data/ptb)" },
  skipMd5: {
    schema: z.boolean().default(false),
    help: "Read a split that is not PTB (no MD5 check)",
  },
  batch: {
    schema: z.number().int().min(1).default(1),
    help: "Columns scored side by side: 1 = one carried stream (the standard, reported), " +
      "10 = the faster column layout",
  },
  bptt: {
    schema: z.number().int().min(1).default(35),
    help: "Steps per window while scoring (a model trained with its state reset every window: " +
      "its window)",
  },
  backend: { schema: z.enum(BACKENDS).default("auto"), help: "TensorFlow.js backend" },
  json: { schema: z.boolean().default(false), help: "Print the result as JSON" },
  dryRun: { schema: z.boolean().default(false), help: "Score only the first 500 tokens" },
  record: {
    schema: z.boolean().default(false),
    help: "Store the PTB result in the folder's model.json metrics (valid_ppl, test_ppl, or " +
      "*_ppl_columns for --batch 10)",
  },
};

export interface EvalResult {
  perplexity: number;
  nll: number;
  tokens: number;
  oov_tokens: number;
  oov_rate: number;
  source: string;
  seconds: number;
}

export async function evaluate(argv: string[]): Promise<EvalResult | undefined> {
  const f = parseFlags(EVAL_FLAGS, argv, USAGE);
  if (f.help) {
    console.log(helpText(USAGE, EVAL_FLAGS));
    return undefined;
  }
  if (!f.model) throw new Error("--model is required (a model folder such as models/ptb-ugru)");
  // Scoring is long products: two threads (the threaded wasm build) unless WASM_THREADS says.
  const backend = await initBackend(f.backend, { threads: wasmThreadsFromEnv(2) });
  if (!f.json) console.log(describeBackend(backend));
  const m = await loadModel(f.model);
  let tokens: string[];
  let source: string;
  if (f.text) {
    const text = await readFile(f.text, "utf8").catch((e) => {
      throw new Error(`Cannot read "${f.text}": ${(e as Error).message}`);
    });
    tokens = tokenize(text, { known: (w) => m.vocab.index.has(w) });
    source = f.text;
  } else {
    const dir = ptbDir(f.data);
    const text = f.skipMd5
      ? await readFile(join(dir, `ptb.${f.split}.txt`), "utf8")
      : await readPtbSplit(dir, f.split);
    tokens = ptbTokens(text);
    source = `ptb.${f.split}`;
  }
  // Every token is predicted, the first one after an <eos> (shared/eval_protocol.ts).
  const { ids: all, oov } = encode(m.vocab, tokens);
  let ids = evalStream(m.vocab.eos, all);
  if (f.dryRun) ids = ids.subarray(0, 500);
  const reading = readingOptions(m.meta.stateResetEvery);
  if (reading.resetEachWindow && !f.json) {
    console.log(`state reset every ${reading.bptt} tokens, as the model was trained`);
  }
  const t0 = performance.now();
  const s = await scoreStreamAsync(m.params, m.config, ids, {
    batch: f.batch,
    bptt: f.bptt,
    ...reading,
    onProgress: (done, total) => {
      const el = (performance.now() - t0) / 1000;
      if (done === total || Math.random() < 0.05) {
        progressLine(
          `scoring ${done}/${total} tokens | ${(done / el).toFixed(0)} tok/s | ETA ${
            formatDuration(((total - done) * el) / done)
          }`,
          done === total,
        );
      }
    },
  });
  const r: EvalResult = {
    perplexity: s.perplexity,
    nll: s.nll,
    tokens: s.tokens,
    oov_tokens: oov,
    oov_rate: oov / Math.max(1, tokens.length),
    source,
    seconds: (performance.now() - t0) / 1000,
  };
  if (f.record) await record(f.model, f, r.perplexity);
  if (f.json) console.log(JSON.stringify(r));
  else {
    console.log(
      `${source}: perplexity ${r.perplexity.toFixed(2)} over ${r.tokens} tokens ` +
        `(out of vocabulary: ${oov}, ${(100 * r.oov_rate).toFixed(2)} %) in ${
          r.seconds.toFixed(1)
        } s`,
    );
  }
  return r;
}

/** Put a PTB perplexity under the protocol's name into model.json's metrics. */
async function record(
  dir: string,
  f: { split: string; text?: string; dryRun: boolean; batch: number; bptt: number },
  ppl: number,
): Promise<void> {
  const layout = f.batch === STREAM.batch ? "" : f.batch === COLUMNS.batch ? "_columns" : null;
  if (f.text || f.dryRun || layout === null || f.bptt !== STREAM.bptt) {
    throw new Error("--record stores only a full PTB split scored with --batch 1 or 10, --bptt 35");
  }
  const where = join(dir, "model.json");
  const raw = JSON.parse(await readFile(where, "utf8"));
  parseModelFile(raw, where);
  raw.metrics = { ...raw.metrics, [`${f.split}_ppl${layout}`]: ppl };
  await writeAtomic(where, JSON.stringify(raw, null, 2) + "\n");
  console.log(`recorded ${f.split}_ppl${layout} = ${ppl.toFixed(2)} in ${where}`);
}

if (import.meta.main) runCli(() => evaluate(Deno.args).then(() => {}));
