import assert from "node:assert/strict";
import { renderMarkdown } from "./ptb_markdown.ts";
import { fixtureResults } from "./testing.ts";

const lines = renderMarkdown(fixtureResults()).split("\n");
const has = (line: string) => assert.ok(lines.includes(line), `missing line:\n${line}`);

Deno.test("renderMarkdown() puts the poster's numbers beside rotor's, pipes escaped", () => {
  has("| RNN | ReLU | 610.00 | 600.00 | 754.65 | 705.28 |");
  has("| uRNN | \\|x\\| | 710.00 | 700.00 | 717.12 | 613.89 |");
  has("| GRU | 150 | 7 | 430.00 | 420.00 | 108.33 | 105.34 |");
  has("| uGRU | 35 | 30 | 420.00 | 410.00 | 101.76 | 98.05 |");
});

Deno.test("renderMarkdown() says plainly where rotor disagrees with the poster", () => {
  has(
    "- ReLU: in the poster uRNN beats RNN (test: uRNN 666.93, RNN 705.28); in rotor uRNN beats RNN " +
      "(test: uRNN 580.00, RNN 600.00): rotor **agrees** with the poster.",
  );
  has(
    "- |x|: in the poster uRNN beats RNN (test: uRNN 613.89, RNN 773.91); in rotor RNN beats uRNN " +
      "(test: uRNN 700.00, RNN 650.00): rotor **disagrees** with the poster.",
  );
  has(
    "- leaky ReLU: in the poster RNN beats uRNN (test: uRNN 810.21, RNN 712.88); in rotor uRNN beats " +
      "RNN (test: uRNN 605.00, RNN 610.00): rotor **disagrees** with the poster.",
  );
  has(
    "- BPTT 35 → 150: in the poster test perplexity rises by 8.09 for GRU and 4.02 for uGRU " +
      "(longer windows hurt the GRU more); in rotor it changes by +20.00 for GRU and +5.00 " +
      "for uGRU: rotor **agrees** with the poster.",
  );
});

Deno.test("renderMarkdown() gives the time-per-batch overhead against the poster's range", () => {
  has("| uRNN vs RNN | +5.0 % | +4.0 % | +1–10 % |");
  has("| uGRU vs GRU | +20.0 % | +10.0 % | +1–10 % |");
  has("- uRNN vs RNN: rotor's whole step is +5.0 %, inside the poster's 1–10 % range.");
  has("- uGRU vs GRU: rotor's whole step is +20.0 %, **above** the poster's 1–10 % range.");
});

Deno.test("renderMarkdown() pairs timing samples by round and flags overlap with zero", () => {
  const res = fixtureResults();
  const samples: Record<string, number[]> = {
    "rnn relu": [100, 200, 100],
    "urnn relu": [110, 190, 103],
    gru: [100, 100, 100],
    ugru: [102, 104, 106],
  };
  for (const c of res.timing.cells) {
    c.stepSamples = samples[c.label]!;
    c.fwdBwdSamples = samples[c.label]!;
  }
  const md = renderMarkdown(res).split("\n");
  const pairLine =
    "| uRNN vs RNN | +3.0 % (−5.0 % to +10.0 %) | +3.0 % (−5.0 % to +10.0 %) | +1–10 % |";
  assert.ok(md.includes(pairLine));
  assert.ok(md.includes(
    "- uRNN vs RNN: rotor's whole step is +3.0 %, inside the poster's 1–10 % range; its " +
      "quartiles straddle zero, so at this load rotor cannot tell the two apart.",
  ));
  assert.ok(
    md.includes("- uGRU vs GRU: rotor's whole step is +4.0 %, inside the poster's 1–10 % range."),
  );
});

Deno.test("renderMarkdown() lists gradient norms, samples, and models not shipped yet", () => {
  has("| rnn relu, init | 1.00e+0 | 1.00e-2 | 1.00e-2 | 0.010–0.600 |");
  has(
    "| gru, init | 5.00e-1 | 0.00e+0 | 0.00e+0 | U_r 0.100–0.500; U_z 0.100–0.500; U_n 0.100–0.500 |",
  );
  has("### `models/ptb-ugru` (test perplexity 118.50)");
  has("1. the company said it expects profit");
  has("- `models/ptb-urnn`: **not shipped yet** (no model.json), so no samples.");
  has(
    "Every row trains on the same **21,000 training tokens** (2.3 % of one pass over PTB's " +
      "929,589): 30 steps at BPTT 35, 7 at BPTT 150, batch 20. One layer, hidden size 16, " +
      "embedding 16, output projection not tied to the embedding, no dropout, Adam at lr 0.002 " +
      "(the orthogonal matrices' step at lr/10), gradient norm clipped at 1, seed 1. The budget " +
      "is counted in tokens rather than minutes because the machine was shared and its load " +
      "varied. Validation and test perplexity are over the whole PTB validation and test sets " +
      "(batch 10, BPTT 35).",
  );
});

Deno.test("renderMarkdown() calls out runs whose training loss climbed", () => {
  const res = fixtureResults();
  const curve = (peak: number, end: number) => [
    { tokens: 700, loss: 9 },
    { tokens: 1400, loss: peak },
    { tokens: 2100, loss: end },
  ];
  res.rows[4]!.curve = curve(24.5, 15);
  res.rows[0]!.curve = curve(48754333.6, 6.4);
  const md = renderMarkdown(res).split("\n");
  const diverged = "- **urnn-abs-bptt35 diverged**: its training loss (window mean) rose from " +
    "9.00 nats after 700 tokens to 24.50 after 1,400 and was still 15.00 at the end (a uniform " +
    "guess over the 10000 words scores ln 10000 = 9.21).";
  assert.equal(md.filter((l) => l === diverged).length, 2); // in the summary and in its table
  const recovered = "- rnn-relu-bptt35 blew up early and recovered: its training loss (window " +
    "mean) rose from 9.00 nats after 700 tokens to 4.88e+7 after 1,400, then fell to 6.40 by " +
    "the end.";
  assert.equal(md.filter((l) => l === recovered).length, 1); // in its table only
});
