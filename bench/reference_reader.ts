/**
 * An independent reader of rotor model folders: float64, plain JavaScript numbers, written
 * from docs/model-format.md alone (it imports nothing of rotor's model code), so that a
 * perplexity it agrees with checks both the format document and rotor's tfjs model. It covers
 * every cell the format lists, the complex ones with explicit complex arithmetic rather than
 * rotor's real blocks.
 *
 *   deno run -A bench/reference_reader.ts --model models/ptb-cugru --split valid --limit 5000
 *
 * Slow by design (no kernels): score a prefix of a split with --limit.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { helpText, parseFlags, runCli } from "../shared/flags.ts";

type Vec = Float64Array<ArrayBuffer>;

/** A model folder's config, tensors (float64) and vocabulary, hashes checked. */
export interface RefModel {
  config: {
    cell: string;
    activation: string;
    leakySlope: number;
    vocabSize: number;
    embedSize: number;
    hiddenSize: number;
    layers: number;
    tieWeights: boolean;
  };
  tensors: Map<string, { shape: number[]; data: Vec }>;
  words: string[];
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Read model.json, weights.bin and vocab.txt as the format document says. */
export async function readRefModel(dir: string): Promise<RefModel> {
  const meta = JSON.parse(await readFile(join(dir, "model.json"), "utf8"));
  if (meta.format !== "rotor-model" || meta.version !== 1) {
    throw new Error(`Not a version 1 rotor model: "${meta.format}" ${meta.version}`);
  }
  const weights = new Uint8Array(await readFile(join(dir, meta.weights.file)));
  const vocab = new Uint8Array(await readFile(join(dir, meta.vocab.file)));
  if (await sha256(weights) !== meta.weights.sha256) throw new Error("weights.bin hash differs");
  if (await sha256(vocab) !== meta.vocab.sha256) throw new Error("vocab.txt hash differs");
  const view = new DataView(weights.buffer, weights.byteOffset, weights.byteLength);
  const tensors = new Map<string, { shape: number[]; data: Vec }>();
  let at = 0;
  for (const { name, shape } of meta.weights.manifest as { name: string; shape: number[] }[]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++, at += 4) data[i] = view.getFloat32(at, true);
    tensors.set(name, { shape, data });
  }
  if (at !== weights.byteLength) {
    throw new Error(`Manifest covers ${at} of ${weights.length} bytes`);
  }
  const words = new TextDecoder().decode(vocab).split("\n").filter((w) => w !== "");
  const c = meta.config;
  return {
    config: {
      cell: c.cell,
      activation: c.activation ?? "tanh",
      leakySlope: c.leakySlope ?? 0.01,
      vocabSize: c.vocabSize,
      embedSize: c.embedSize,
      hiddenSize: c.hiddenSize,
      layers: c.layers ?? 1,
      tieWeights: c.tieWeights ?? false,
    },
    tensors,
    words,
  };
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** y = x·M + b for M [In, Out] row-major (b optional). */
function affine(x: Vec, m: Vec, out: number, b?: Vec): Vec {
  const y = b ? Float64Array.from(b) : new Float64Array(out);
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    for (let j = 0; j < out; j++) y[j]! += xi * m[i * out + j]!;
  }
  return y;
}

/** The complex row vector h·W for h = hr + i·hi (n units) and W stored [Re W | Im W] [n, 2n]. */
function complexTimes(hr: Vec, hi: Vec, w: Vec): [Vec, Vec] {
  const n = hr.length, yr = new Float64Array(n), yi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const a = w[i * 2 * n + j]!, b = w[i * 2 * n + n + j]!; // W_ij = a + ib
      yr[j]! += hr[i]! * a - hi[i]! * b;
      yi[j]! += hr[i]! * b + hi[i]! * a;
    }
  }
  return [yr, yi];
}

function real(kind: string, z: number, slope: number, bMod = 0): number {
  switch (kind) {
    case "tanh":
      return Math.tanh(z);
    case "relu":
      return Math.max(0, z);
    case "abs":
      return Math.abs(z);
    case "leaky_relu":
      return z > 0 ? z : slope * z;
    case "linear":
      return z;
    case "modrelu":
      return Math.sign(z) * Math.max(0, Math.abs(z) + bMod);
  }
  throw new Error(`Unknown activation "${kind}"`);
}

/** |v| with the format's ε = 1e-8 under the root. */
const modulus = (re: number, im: number) => Math.sqrt(re * re + im * im + 1e-8);

/** One layer's step: input x, state {h, c} → new state. */
function layerStep(m: RefModel, l: number, x: Vec, h: Vec, c: Vec): { h: Vec; c: Vec } {
  const t = (k: string) => m.tensors.get(`layer${l}/${k}`)!.data;
  const { cell, activation, leakySlope, hiddenSize: H } = m.config;
  if (cell === "rnn" || cell === "urnn") {
    const z = affine(h, t("U"), H, affine(x, t("W"), H, t("b")));
    const bm = activation === "modrelu" ? t("b_mod") : undefined;
    return { h: z.map((v, j) => real(activation, v, leakySlope, bm?.[j])), c };
  }
  if (cell === "gru" || cell === "ugru") {
    const xw = affine(x, t("W"), 3 * H, t("b"));
    const hr = affine(h, t("U_r"), H), hz = affine(h, t("U_z"), H), hn = affine(h, t("U_n"), H);
    const cn = t("c_n");
    return {
      h: h.map((hj, j) => {
        const r = sigmoid(xw[j]! + hr[j]!), z = sigmoid(xw[H + j]! + hz[j]!);
        const n = Math.tanh(xw[2 * H + j]! + r * (hn[j]! + cn[j]!));
        return (1 - z) * n + z * hj;
      }),
      c,
    };
  }
  if (cell === "lstm") {
    const g = affine(h, t("U"), 4 * H, affine(x, t("W"), 4 * H, t("b")));
    const c2 = c.map((cj, j) =>
      sigmoid(g[H + j]!) * cj + sigmoid(g[j]!) * Math.tanh(g[2 * H + j]!)
    );
    return { h: c2.map((cj, j) => sigmoid(g[3 * H + j]!) * Math.tanh(cj)), c: c2 };
  }
  const n = H / 2, hre = h.subarray(0, n), him = h.subarray(n);
  const out = new Float64Array(H);
  if (cell === "curnn") {
    const xw = affine(x, t("W"), H, t("b"));
    const [ur, ui] = complexTimes(hre, him, t("U"));
    const bm = activation === "modrelu" ? t("b_mod") : undefined;
    for (let j = 0; j < n; j++) {
      const zr = xw[j]! + ur[j]!, zi = xw[n + j]! + ui[j]!;
      if (bm) {
        const mod = modulus(zr, zi), s = Math.max(0, mod + bm[j]!) / mod;
        (out[j] = zr * s, out[n + j] = zi * s);
      } else {
        (out[j] = real(activation, zr, leakySlope), out[n + j] = real(activation, zi, leakySlope));
      }
    }
    return { h: out, c };
  }
  if (cell === "cugru") {
    const xw = affine(x, t("W"), 4 * n, t("b")); // r (n) | z (n) | n (Re n, Im n)
    const [rr] = complexTimes(hre, him, t("U_r"));
    const [zr] = complexTimes(hre, him, t("U_z"));
    const [nr, ni] = complexTimes(hre, him, t("U_n"));
    const cn = t("c_n");
    for (let j = 0; j < n; j++) {
      const r = sigmoid(xw[j]! + rr[j]!), z = sigmoid(xw[n + j]! + zr[j]!);
      const vr = xw[2 * n + j]! + r * (nr[j]! + cn[j]!);
      const vi = xw[3 * n + j]! + r * (ni[j]! + cn[n + j]!);
      const mod = modulus(vr, vi), s = Math.tanh(mod) / mod;
      out[j] = (1 - z) * vr * s + z * hre[j]!;
      out[n + j] = (1 - z) * vi * s + z * him[j]!;
    }
    return { h: out, c };
  }
  throw new Error(`Unknown cell "${cell}"`);
}

/** A reader's running model: feed token ids, get log-probabilities of the next one. */
export function refRunner(m: RefModel) {
  const { hiddenSize: H, vocabSize: V, embedSize: E, layers } = m.config;
  const emb = m.tensors.get("embedding")!.data;
  const outB = m.tensors.get("output/b")!.data;
  const outW = m.config.tieWeights ? undefined : m.tensors.get("output/W")!.data;
  let state = Array.from({ length: layers }, () => ({
    h: new Float64Array(H),
    c: new Float64Array(H),
  }));
  return {
    reset() {
      state = state.map(() => ({ h: new Float64Array(H), c: new Float64Array(H) }));
    },
    /** log p(· | history, id) over the vocabulary. */
    step(id: number): Vec {
      let x: Vec = emb.slice(id * E, (id + 1) * E);
      state = state.map((s, l) => {
        const next = layerStep(m, l, x, s.h, s.c);
        x = next.h;
        return next;
      });
      const logits = new Float64Array(V);
      for (let v = 0; v < V; v++) {
        let s = outB[v]!;
        for (let j = 0; j < H; j++) s += x[j]! * (outW ? outW[j * V + v]! : emb[v * E + j]!);
        logits[v] = s;
      }
      const max = Math.max(...logits);
      let sum = 0;
      for (const z of logits) sum += Math.exp(z - max);
      const lse = max + Math.log(sum);
      return logits.map((z) => z - lse);
    },
  };
}

/**
 * The format's one-stream protocol: the state starts at zero, the first input is `<eos>`, and
 * every id of `ids` is predicted from the ones before it. Returns each target's log-probability.
 */
export function refScore(m: RefModel, ids: ArrayLike<number>): number[] {
  const r = refRunner(m);
  const eos = m.words.indexOf("<eos>");
  const out: number[] = [];
  let prev = eos;
  for (let i = 0; i < ids.length; i++) {
    out.push(r.step(prev)[ids[i]!]!);
    prev = ids[i]!;
  }
  return out;
}

/** A PTB split file as ids: each line's words then `<eos>`, unknown words as `<unk>`. */
export function ptbIds(text: string, words: string[]): number[] {
  const id = new Map(words.map((w, i) => [w, i]));
  const unk = id.get("<unk>")!, eos = id.get("<eos>")!;
  const out: number[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" && out.length === 0) continue;
    for (const w of line.split(/\s+/).filter((s) => s)) out.push(id.get(w) ?? unk);
    out.push(eos);
  }
  if (text.endsWith("\n")) out.pop(); // the text's last newline ends the last line, once
  return out;
}

const USAGE = "usage: deno run -A bench/reference_reader.ts --model DIR [flags]";
const FLAGS = {
  model: { schema: z.string().optional(), help: "Model folder to read" },
  split: { schema: z.enum(["train", "valid", "test"]).default("valid"), help: "PTB split" },
  limit: { schema: z.number().int().min(0).default(0), help: "Score the first N tokens (0: all)" },
  data: { schema: z.string().optional(), help: "PTB folder (default $PTB_DIR, then data/ptb)" },
};

async function main(argv: string[]) {
  const f = parseFlags(FLAGS, argv, USAGE);
  if (f.help) return void console.log(helpText(USAGE, FLAGS));
  if (!f.model) throw new Error("--model is required (a model folder)");
  const dir = f.model, split = f.split;
  const data = f.data ?? Deno.env.get("PTB_DIR") ?? "data/ptb";
  const m = await readRefModel(dir);
  const text = await readFile(join(data, `ptb.${split}.txt`), "utf8");
  let ids = ptbIds(text, m.words);
  if (f.limit > 0) ids = ids.slice(0, f.limit);
  const t0 = performance.now();
  const lp = refScore(m, ids);
  const nll = -lp.reduce((a, b) => a + b, 0) / lp.length;
  console.log(JSON.stringify({
    model: dir,
    split,
    tokens: lp.length,
    ppl: Math.exp(nll),
    seconds: (performance.now() - t0) / 1000,
  }));
}

if (import.meta.main) runCli(() => main(Deno.args));
