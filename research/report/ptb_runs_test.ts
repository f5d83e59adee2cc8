import assert from "node:assert/strict";
import { lossCurve } from "./ptb_runs.ts";

Deno.test("lossCurve() reads batch lines as loss against tokens seen", () => {
  const jsonl = [
    { type: "batch", step: 8, loss: 7.5, ppl: 1808 },
    { type: "reorth", step: 10, param: "layer0/U" },
    { type: "batch", step: 16, loss: 6.25, ppl: 518 },
    { type: "epoch", epoch: 1, valid_ppl: 400 },
  ].map((r) => JSON.stringify(r)).join("\n") + "\n";
  assert.deepEqual(lossCurve(jsonl, 700), [{ tokens: 5600, loss: 7.5 }, {
    tokens: 11200,
    loss: 6.25,
  }]);
});
