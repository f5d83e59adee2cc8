import assert from "node:assert/strict";
import { GRID, stepsFor, trainArgs } from "./ptb_grid.ts";

const budget = { tokens: 168000, batch: 20, hidden: 128, seed: 1, lr: 0.002, tie: false };

Deno.test("stepsFor() gives every BPTT length the same number of tokens", () => {
  assert.equal(stepsFor(budget, 35), 240);
  assert.equal(stepsFor(budget, 150), 56);
  for (const row of GRID) {
    assert.equal(stepsFor(budget, row.bptt) * budget.batch * row.bptt, budget.tokens);
  }
});

Deno.test("stepsFor() refuses a budget that is not whole steps", () => {
  assert.throws(
    () => stepsFor({ ...budget, tokens: 1000 }, 35),
    /budget of "1000" tokens is not a whole number of 700-token steps/,
  );
});

Deno.test("trainArgs() passes the row's cell, activation and step budget", () => {
  const row = GRID.find((r) => r.id === "urnn-abs-bptt35")!;
  const args = trainArgs(row, budget);
  const flag = (f: string) => args[args.indexOf(f) + 1];
  assert.equal(flag("--cell"), "urnn");
  assert.equal(flag("--activation"), "abs");
  assert.equal(flag("--max-steps"), "240");
  assert.equal(flag("--name"), "urnn-abs-bptt35");
  assert.ok(!args.includes("--tie"));
  assert.equal(GRID.length, 10);
});
