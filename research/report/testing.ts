/** A small, fixed results object for the report's tests (made-up numbers, not measurements). */
import { GRID } from "./ptb_grid.ts";
import type { PtbResults } from "./ptb_results.ts";

/** Test perplexities per row id; validation is test + 10. */
const TEST_PPL: Record<string, number> = {
  "rnn-relu-bptt35": 600,
  "rnn-abs-bptt35": 650,
  "rnn-leaky_relu-bptt35": 610,
  "urnn-relu-bptt35": 580,
  "urnn-abs-bptt35": 700,
  "urnn-leaky_relu-bptt35": 605,
  "gru-bptt35": 400,
  "gru-bptt150": 420,
  "ugru-bptt35": 410,
  "ugru-bptt150": 415,
};

export function fixtureResults(): PtbResults {
  return {
    version: 1,
    date: "2026-01-01T00:00:00.000Z",
    machine: "2 × test CPU",
    backend: "wasm (requested)",
    runtime: "deno 2, @tensorflow/tfjs 4.22.0",
    command: "deno task report:ptb --rerun",
    budget: { tokens: 21000, batch: 20, hidden: 16, seed: 1, lr: 0.002, tie: false },
    rows: GRID.map((r) => ({
      id: r.id,
      table: r.table,
      cell: r.cell,
      ...(r.activation ? { activation: r.activation } : {}),
      bptt: r.bptt,
      steps: 21000 / (20 * r.bptt),
      command: `deno task train --name ${r.id}`,
      validPpl: TEST_PPL[r.id]! + 10,
      testPpl: TEST_PPL[r.id]!,
      wallSeconds: 100,
      tokensPerSecond: 210,
      curve: [{ tokens: 700, loss: 9 }, { tokens: 21000, loss: 6.5 }],
    })),
    timing: {
      hidden: 16,
      batch: 20,
      bptt: 35,
      vocab: 10000,
      reps: 3,
      cells: [
        { label: "rnn relu", fwdBwdMs: 100, stepMs: 200 },
        { label: "urnn relu", fwdBwdMs: 104, stepMs: 210 },
        { label: "gru", fwdBwdMs: 300, stepMs: 400 },
        { label: "ugru", fwdBwdMs: 330, stepMs: 480 },
      ],
    },
    gradflow: {
      k: 2,
      batch: 2,
      batches: 1,
      series: [
        {
          label: "rnn relu, init",
          family: "rnn",
          stage: "init",
          norms: [1, 0.1, 0.01],
          eigen: [{ block: "U", min: 0.01, max: 0.6 }],
        },
        {
          label: "urnn relu, trained",
          family: "rnn",
          stage: "trained",
          norms: [1, 0.9, 0.8],
          eigen: [{ block: "U", min: 1, max: 1 }],
        },
        {
          label: "gru, init",
          family: "gru",
          stage: "init",
          norms: [0.5, 0.05, 0],
          eigen: [
            { block: "U_r", min: 0.1, max: 0.5 },
            { block: "U_z", min: 0.1, max: 0.5 },
            { block: "U_n", min: 0.1, max: 0.5 },
          ],
        },
      ],
    },
    samples: {
      temperature: 0.8,
      maxTokens: 30,
      models: [
        {
          dir: "models/ptb-ugru",
          found: true,
          testPpl: 118.5,
          sentences: [{ seed: 1, text: "the company said it expects profit" }],
        },
        { dir: "models/ptb-urnn", found: false, sentences: [] },
      ],
    },
  };
}
