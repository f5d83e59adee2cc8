/**
 * `deno task toy`: train and evaluate one model on a long-memory toy task, or run a sweep
 * (`--sweep poster|standard`) and write toy.md (in a new folder under runs/reports/, or in
 * reports/ with --replace).
 *
 * @example
 * deno task toy --task first --length 100 --cell urnn --steps 2000
 * deno task toy --sweep poster --jobs 2 --replace # reports/toy.md's settings (POSTER_PRESET)
 * deno task toy --sweep poster --steps 300 --held-out 1000
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describeBackend, initBackend } from "../../shared/backend.ts";
import { helpText, parseFlags, runCli } from "../../shared/flags.ts";
import { dryRunFlags, POSTER_PRESET, TOY_FLAGS, type ToyFlags } from "./flags.ts";
import { runToy, type ToyResult } from "./run.ts";
import { sweep } from "./sweep.ts";

const USAGE =
  "usage: deno task toy --task first|kth|copy|adding --length L --cell rnn|urnn|gru|ugru|lstm|curnn|cugru [flags]\n" +
  "       deno task toy --sweep poster|standard [--cells rnn,urnn] [--steps N] [--held-out N]";

/** The default place of a single run's JSON result. */
export function resultPath(f: ToyFlags): string {
  return f.out ?? join("runs", "toy", `${f.task}-L${f.length}-${f.cell}-s${f.seed}.json`);
}

/** Run the command; returns the results (one, or one per sweep run). */
export async function toy(argv: string[]): Promise<ToyResult[]> {
  let parsed = parseFlags(TOY_FLAGS, argv, USAGE);
  // The poster sweep starts from its preset; a flag given again later wins (parseArgs).
  if (parsed.sweep === "poster") parsed = parseFlags(TOY_FLAGS, [...POSTER_PRESET, ...argv], USAGE);
  if (parsed.help) return (console.log(helpText(USAGE, TOY_FLAGS)), []);
  const f = parsed.dryRun ? dryRunFlags(parsed) : parsed;
  const backend = await initBackend(f.backend);
  console.log(describeBackend(backend));
  const command = `deno task toy ${argv.join(" ")}`.trim() +
    (f.sweep === "poster" ? ` (preset: ${POSTER_PRESET.join(" ")})` : "");
  if (f.sweep) return await sweep(f, command);
  console.log(`config ${JSON.stringify(f)}`);
  const result = await runToy(f);
  const path = resultPath(f);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify({ command, ...result }, null, 1) + "\n");
  console.log(`wrote ${path}`);
  return [result];
}

if (import.meta.main) runCli(async () => void (await toy(Deno.args)));
