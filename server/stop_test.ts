import assert from "node:assert/strict";
import { createStopMatcher } from "./stop.ts";

Deno.test("createStopMatcher() releases everything when there are no stop strings", () => {
  const m = createStopMatcher<number>([]);
  assert.deepEqual(m.push(" a", 1), { release: [1], stopped: false, tail: "" });
});

Deno.test("createStopMatcher() holds back a possible start and cuts at the stop string", () => {
  const m = createStopMatcher<number>(["the end"]);
  assert.deepEqual(m.push("once", 1).release, [1]);
  assert.deepEqual(m.push(" the", 2).release, []); // could become " the end"
  assert.deepEqual(m.push(" end", 3), { release: [], stopped: true, tail: " " });
});

Deno.test("createStopMatcher() releases held text once it cannot match", () => {
  const m = createStopMatcher<number>(["the end"]);
  m.push(" the", 1);
  assert.deepEqual(m.push(" dog", 2), { release: [1, 2], stopped: false, tail: "" });
  m.push(" the", 3);
  assert.deepEqual(m.flush(), [3]);
});

Deno.test("createStopMatcher() finds a stop inside one piece and keeps the text before it", () => {
  const m = createStopMatcher<number>(["\n"]);
  assert.deepEqual(m.push(" a", 1).release, [1]);
  assert.deepEqual(m.push("\n", 2), { release: [], stopped: true, tail: "" });
  const n = createStopMatcher<number>(["pan"]);
  assert.deepEqual(n.push(" company", 1), { release: [], stopped: true, tail: " com" });
});
