/**
 * `deno task train [flags]`: train a word-level language model on PTB and write a model
 * folder (shared weight format). `--help` lists the flags.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { tf } from "../shared/tf.ts";
import type { Tensor } from "../shared/tf.ts";
import { describeBackend, initBackend, wasmThreadsFromEnv } from "../shared/backend.ts";
import { initParams, type Params } from "../shared/model.ts";
import { MAX_STATE_RESET_EVERY, saveModel } from "../shared/model_format.ts";
import { COLUMNS, evalStream, readingOptions, STREAM } from "../shared/eval_protocol.ts";
import { type ScoreOptions, scoreStreamAsync } from "../shared/perplexity.ts";
import { givenFlags, helpText, parseFlags, runCli } from "../shared/flags.ts";
import { loadCorpus } from "./corpus.ts";
import {
  evalOptionsOf,
  modelConfigOf,
  runName,
  stateResetEveryOf,
  TRAIN_FLAGS,
  type TrainConfig,
} from "./train_config.ts";
import { trainLoop } from "./train_loop.ts";
import { loadResume, lrOrthOf } from "./train_state.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { writeModelCard } from "./model_card.ts";
import { type FileIo, NODE_IO, sweepTmpFiles, writeWhole } from "./run_files.ts";
import { trimMetrics } from "./metrics_log.ts";
import { recoverModelFolder, writeModelFolder } from "./model_out.ts";
import { describeAdapter } from "../shared/webgpu.ts";

const USAGE = "usage: deno task train [flags]   (npm run train -- [flags])";

/** Flags that, given again with --resume, replace the run's own settings. */
const RESUME_OVERRIDES = [
  "epochs",
  "maxMinutes",
  "maxSteps",
  "checkpointMinutes",
  "checkpointEvery",
  "logEvery",
  "backend",
  "lr",
  "lrOrth",
  "lrDecay",
  "clip",
  "workers",
  "recurrence",
] as const;

/**
 * How a model folder names its data: `$PTB_DIR` when the data came from there, else the path
 * relative to the working folder, so provenance never records a machine's absolute path.
 */
export function dataName(dir: string, env = process.env): string {
  if (env.PTB_DIR && resolve(env.PTB_DIR) === resolve(dir)) return "$PTB_DIR";
  return relative(process.cwd(), resolve(dir)) || ".";
}

/** argv with the value of --data replaced by `name`. */
function withDataNamed(argv: string[], name: string): string[] {
  return argv.map((a, i) =>
    argv[i - 1] === "--data" ? name : a.startsWith("--data=") ? `--data=${name}` : a
  );
}

/**
 * Train from command-line flags. `io` is the file system the run's own files go through: a test
 * passes one that fails the way a full disk or a read-only folder does.
 */
export async function train(argv: string[], io: FileIo = NODE_IO): Promise<void> {
  let cfg = parseFlags(TRAIN_FLAGS, argv, USAGE) as TrainConfig & { help: boolean };
  if (cfg.help) {
    console.log(helpText(USAGE, TRAIN_FLAGS));
    return;
  }
  // Tensors (a checkpoint's included) can only be made once a backend is up.
  // One process: the wasm backend's matrix products on two threads; with --workers N each
  // worker keeps one core and one thread.
  const backend = await initBackend(cfg.backend, {
    threads: wasmThreadsFromEnv(cfg.workers > 1 ? 1 : 2),
  });
  const resumeCk = cfg.resume ? await loadResume(cfg.resume) : undefined;
  if (resumeCk) {
    // The run's own settings win, except budgets the user gives again on the command line.
    const given = givenFlags(TRAIN_FLAGS, argv);
    const override = Object.fromEntries(
      RESUME_OVERRIDES.filter((k) => given.has(k)).map((k) => [k, cfg[k]]),
    );
    // Defaults first: a checkpoint from an older rotor may lack flags added since.
    const defaults = parseFlags(TRAIN_FLAGS, [], USAGE);
    cfg = { ...defaults, ...resumeCk.header.train, ...override, resume: cfg.resume, help: false };
    // A learning rate given again replaces the (possibly decayed) one the run had reached.
    if ("lr" in override) resumeCk.header.state.lr = cfg.lr;
    if ("lrOrth" in override) resumeCk.header.state.lrOrth = lrOrthOf(cfg);
  }
  if (cfg.stateReset === "window" && cfg.bptt > MAX_STATE_RESET_EVERY) {
    // model.json's stateResetEvery sets the scoring window, which bounds a server's memory.
    throw new Error(
      `--state-reset window takes --bptt up to ${MAX_STATE_RESET_EVERY}, got ${cfg.bptt}`,
    );
  }
  const name = runName(cfg);
  const dir = cfg.resume ?? join(cfg.runs, name);
  const corpus = await loadCorpus(cfg.data, cfg.skipMd5);
  const model = resumeCk?.header.model ?? modelConfigOf(cfg, corpus.vocab.words.length);
  if (model.vocabSize !== corpus.vocab.words.length) {
    throw new Error(
      `The checkpoint's vocabulary has ${model.vocabSize} words, the corpus ${corpus.vocab.words.length}`,
    );
  }
  const command = `deno task train ${withDataNamed(argv, dataName(corpus.dir)).join(" ")}`.trim();
  console.log(describeBackend(backend));
  console.log(
    `run ${dir}\nmodel ${JSON.stringify(model)}\ntraining ${
      JSON.stringify({ ...cfg, help: undefined })
    }`,
  );
  // config.json keeps the command that started the run and every --resume after it, so the
  // model folder can say exactly how it was made.
  const runConfig = join(dir, "config.json");
  let commands = [command];
  if (resumeCk && existsSync(runConfig)) {
    const prev = JSON.parse(await readFile(runConfig, "utf8"));
    commands = [...(prev.commands ?? [prev.command]), command];
  }
  // A trainer killed while writing leaves `<file>.<pid>.tmp`; the complete files are whole.
  const swept = await sweepTmpFiles(dir, io);
  if (swept.length > 0) console.log(`removed ${swept.join(", ")}, left by an interrupted write`);
  for (const line of await recoverModelFolder(cfg.out ?? join(dir, "model"), io)) console.log(line);
  // What was logged after the checkpoint will be logged again as the run retakes those steps
  // (a fresh start retakes them all).
  const st = resumeCk?.header.state;
  const dropped = await trimMetrics(
    join(dir, "metrics.jsonl"),
    st?.step ?? 0,
    st?.history.length ?? 0,
    io,
  );
  if (dropped > 0) {
    console.log(`metrics.jsonl: dropped ${dropped} line(s) logged after the checkpoint`);
  }
  await mkdir(dir, { recursive: true });
  await writeWhole(
    runConfig,
    JSON.stringify({ command: commands[0], commands, model, train: cfg }, null, 2) + "\n",
    existsSync(join(dir, "checkpoint.bin"))
      ? `nothing was changed; "${join(dir, "checkpoint.bin")}" keeps the last good checkpoint`
      : "nothing was changed",
    io,
  );

  let params: Params;
  if (resumeCk) {
    params = {};
    for (const [k, t] of Object.entries(resumeCk.tensors)) {
      if (k.startsWith("param/")) params[k.slice(6)] = t;
    }
  } else {
    params = initParams(model, cfg.seed);
  }
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    console.error(
      "\ninterrupt: saving a checkpoint at the end of this batch (Ctrl-C again to quit now)",
    );
  };
  process.on("SIGINT", onSigint);
  let result;
  try {
    result = await trainLoop({
      cfg,
      model,
      corpus,
      dir,
      params,
      ...(resumeCk ? { resume: { state: resumeCk.header.state, tensors: resumeCk.tensors } } : {}),
      stopRequested: () => stop,
      io,
    });
  } finally {
    process.off("SIGINT", onSigint);
  }
  if (result.stopped === "interrupted") {
    console.log(
      `stopped: checkpoint saved in ${dir}; continue with: deno task train --resume ${dir}`,
    );
    return;
  }
  // The figures below read the text one time step after another (the stream protocol: batch
  // 1, ~156,000 steps for validation and test). On webgpu every step costs a fixed number of
  // kernel dispatches, and an H100 had not finished them minutes after training; wasm's fused
  // cells take about a minute on two cores. The parameters are the same, so are the figures.
  if (backend.name === "webgpu") result.params = await moveToWasm(result.params);
  // The model folder holds whichever scores better on validation: the best end-of-epoch
  // parameters, or the last ones when the run stopped mid-epoch (time or step budget).
  const evalOpts = evalOptionsOf(cfg);
  const slice = (s: Int32Array) => (cfg.dryRun ? s.subarray(0, 200) : s);
  let best: Params = result.params;
  if (existsSync(join(dir, "best.bin"))) {
    const epochBest = (await readCheckpoint<unknown>(join(dir, "best.bin"))).tensors as Params;
    const last = result.stopped === "done"
      ? undefined
      : await scoreStreamAsync(result.params, model, slice(corpus.valid), evalOpts);
    const epochValid = await scoreStreamAsync(epochBest, model, slice(corpus.valid), evalOpts);
    best = last && last.perplexity < epochValid.perplexity ? result.params : epochBest;
    console.log(
      `validation: last parameters ${last ? last.perplexity.toFixed(2) : "(= best epoch)"}, ` +
        `best epoch ${epochValid.perplexity.toFixed(2)}; the model keeps the ` +
        `${best === epochBest ? "best epoch's" : "last"}`,
    );
  }
  // The reported figures, by the protocol of shared/eval_protocol.ts; a run trained with its
  // state reset at every window is scored the same way, window by window.
  const stateResetEvery = stateResetEveryOf(cfg);
  const reset = readingOptions(stateResetEvery);
  const score = async (split: Int32Array, opts: ScoreOptions) =>
    (await scoreStreamAsync(best, model, slice(evalStream(corpus.vocab.eos, split)), {
      ...opts,
      ...reset,
    })).perplexity;
  const reported = {
    valid_ppl: await score(corpus.valid, STREAM),
    test_ppl: await score(corpus.test, STREAM),
    valid_ppl_columns: await score(corpus.valid, COLUMNS),
    test_ppl_columns: await score(corpus.test, COLUMNS),
  };
  const out = cfg.out ?? join(dir, "model");
  const saveTo = (folder: string) =>
    saveModel(folder, {
      config: model,
      params: best,
      vocab: corpus.vocab,
      stateResetEvery,
      provenance: {
        command: commands.join("\n"),
        train_config: { ...cfg, help: undefined },
        data: { dir: dataName(corpus.dir), md5: corpus.md5 ?? null },
        backend: backend.name,
        hardware: `${navigator.hardwareConcurrency} cores, ${process.platform}/${process.arch}${
          backend.adapter ? `, WebGPU adapter ${describeAdapter(backend.adapter)}` : ""
        }`,
        runtime: typeof Deno !== "undefined"
          ? `deno ${Deno.version.deno}`
          : `node-compatible ${process.version}`,
        epochs: result.state.epoch,
        steps: result.state.step,
        wall_seconds: Math.round(result.state.seconds),
        stopped: result.stopped,
        reorthogonalisations: result.state.reorths,
        history: result.state.history,
        date: new Date().toISOString(),
      },
      metrics: {
        ...reported,
        tokens_per_s: result.tokensPerSecond,
        steps: result.state.step,
        tokens: result.state.tokens,
      },
    });
  // Written whole beside --out, then renamed into place: a kill never damages the model there.
  await writeModelFolder(out, async (folder) => {
    const saved = await saveTo(folder);
    await writeModelCard(folder, out.replace(/\/$/, "").split("/").pop()!, saved);
  }, io);
  console.log(
    `done (${result.stopped}): valid ppl ${reported.valid_ppl.toFixed(2)}, test ppl ${
      reported.test_ppl.toFixed(2)
    }, ` +
      `${result.tokensPerSecond.toFixed(0)} tokens/s; model written to ${out}`,
  );
  Object.values(best).forEach((t: Tensor) => t.dispose());
}

/** `params` copied onto the wasm backend, which becomes the active one (the copies returned). */
async function moveToWasm(params: Params): Promise<Params> {
  const host = await Promise.all(
    Object.entries(params).map(async ([k, t]) => [k, t.shape, await t.data()] as const),
  );
  tf.dispose(Object.values(params));
  const choice = await initBackend("wasm", { threads: wasmThreadsFromEnv(2) });
  console.log(`scoring on ${describeBackend({ ...choice, reason: "fused cells for the stream" })}`);
  return Object.fromEntries(host.map(([k, shape, v]) => [k, tf.tensor(v, shape, "float32")]));
}

if (import.meta.main) runCli(() => train(Deno.args));
