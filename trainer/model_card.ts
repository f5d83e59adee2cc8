/**
 * A model folder's card (README.md): what it is, how it was trained, what it scores.
 * Written by the trainer when it saves a model; `deno task card --model DIR` rewrites it.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { type ModelFile, parseModelFile, writeHfTokenizer } from "../shared/model_format.ts";
import { vocabFromText } from "../shared/vocab.ts";
import { paramShapes } from "../shared/model.ts";
import { isComplex } from "../shared/cells/mod.ts";
import { readFile } from "node:fs/promises";
import { helpText, parseFlags, runCli } from "../shared/flags.ts";

const fmt = (v: unknown, digits = 2) => (typeof v === "number" ? v.toFixed(digits) : "—");

export function modelCard(name: string, m: ModelFile): string {
  const c = m.config;
  const p = m.provenance as Record<string, unknown>;
  const params = Object.values(paramShapes(c)).reduce(
    (n, s) => n + s.reduce((a, b) => a * b, 1),
    0,
  );
  const act = c.cell === "rnn" || c.cell === "urnn" || c.cell === "curnn"
    ? `, σ = ${c.activation}`
    : "";
  const units = isComplex(c.cell)
    ? `${c.hiddenSize / 2} complex units, state [Re h | Im h] of ${c.hiddenSize} reals`
    : `${c.hiddenSize} units`;
  const history = (p.history as
    | { epoch: number; validPpl: number; trainPpl: number; seconds: number }[]
    | undefined) ?? [];
  const rows = history.map((h) =>
    `| ${h.epoch} | ${fmt(h.trainPpl)} | ${fmt(h.validPpl)} | ${Math.round(h.seconds)} |`
  );
  return [
    `# ${name}`,
    "",
    `A word-level Penn Treebank language model: ${c.layers} × ${c.cell} (${units}${act}), ` +
    `embedding ${c.embedSize}${c.tieWeights ? ", output tied to the embedding" : ""}, ` +
    `vocabulary ${c.vocabSize}, ${params.toLocaleString("en-US")} parameters.`,
    "",
    "| | |",
    "|---|---|",
    `| validation perplexity | ${fmt(m.metrics.valid_ppl)} |`,
    `| test perplexity | ${fmt(m.metrics.test_ppl)} |`,
    `| training tokens/s | ${fmt(m.metrics.tokens_per_s, 0)} |`,
    `| epochs, steps | ${p.epochs ?? "—"}, ${p.steps ?? "—"} (stopped: ${p.stopped ?? "—"}) |`,
    `| wall time | ${
      typeof p.wall_seconds === "number" ? (p.wall_seconds / 60).toFixed(1) + " min" : "—"
    } |`,
    `| backend, hardware | ${p.backend ?? "—"}, ${p.hardware ?? "—"} (${p.runtime ?? "—"}) |`,
    `| date | ${p.date ?? "—"} |`,
    "",
    "Trained with:",
    "",
    "```sh",
    String(p.command ?? "(unknown)"),
    "```",
    "",
    ...(rows.length
      ? ["| epoch | train ppl | valid ppl | seconds |", "|---|---|---|---|", ...rows, ""]
      : []),
    protocolNote(m.metrics),
    "",
  ].join("\n");
}

/** How the perplexities were measured (shared/eval_protocol.ts), with the column figures. */
function protocolNote(metrics: Record<string, number>): string {
  const cols = metrics.valid_ppl_columns !== undefined && metrics.test_ppl_columns !== undefined
    ? ` (10 columns side by side: valid ${fmt(metrics.valid_ppl_columns)}, test ${
      fmt(metrics.test_ppl_columns)
    })`
    : "";
  return "Perplexities are exp of the mean negative log-likelihood over every token of the split, " +
    "`<eos>` included, scored as one stream read after an `<eos>` with the state carried " +
    `throughout${cols}; \`deno task eval --model <this folder> --split test\` recomputes the ` +
    "test figure.";
}

export async function writeModelCard(dir: string, name: string, m: ModelFile): Promise<void> {
  await writeFile(join(dir, "README.md"), modelCard(name, m));
}

const USAGE = "usage: deno task card --model DIR [--name NAME]";
const FLAGS = {
  model: { schema: z.string(), help: "Model folder" },
  name: { schema: z.string().optional(), help: "Title (default: the folder's name)" },
};

if (import.meta.main) {
  runCli(async () => {
    const f = parseFlags(FLAGS, Deno.args, USAGE);
    if (f.help) return void console.log(helpText(USAGE, FLAGS));
    const where = join(f.model, "model.json");
    const meta = parseModelFile(JSON.parse(await readFile(where, "utf8")), where);
    await writeModelCard(f.model, f.name ?? f.model.replace(/\/$/, "").split("/").pop()!, meta);
    // The HuggingFace tokenizer files follow the vocabulary, for folders saved before they existed.
    await writeHfTokenizer(
      f.model,
      vocabFromText(await readFile(join(f.model, "vocab.txt"), "utf8")),
    );
    console.log(`wrote ${join(f.model, "README.md")}, tokenizer.json, tokenizer_config.json`);
  });
}
