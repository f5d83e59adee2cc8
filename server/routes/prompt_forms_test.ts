import assert from "node:assert/strict";
import { ApiError } from "../errors.ts";
import { parsePrompts, shortJson } from "./prompt_forms.ts";

Deno.test("parsePrompts() takes every prompt form of OpenAI's legacy API", () => {
  assert.deepEqual(parsePrompts(undefined, 10), [""]);
  assert.deepEqual(parsePrompts("the", 10), ["the"]);
  assert.deepEqual(parsePrompts(["a", "b"], 10), ["a", "b"]);
  assert.deepEqual(parsePrompts([1, 2, 9], 10), [[1, 2, 9]]);
  assert.deepEqual(parsePrompts([[1, 2], [0], []], 10), [[1, 2], [0], []]);
});

Deno.test("parsePrompts() names the accepted forms and quotes a short prefix", () => {
  const cases: [unknown, string, RegExp][] = [
    [[[2, 3, 10]], "prompt.0.2", /^Invalid "prompt.0.2" 10: token id 10 is outside .*0 to 9/],
    [[3, -1], "prompt.1", /-1: token id -1 is outside/],
    [[1, 2.5], "prompt.1", /2\.5: a token id is an integer/],
    [["a", 1], "prompt.1", /an array of token ids or an array of arrays of token ids/],
    [{ a: 1 }, "prompt", /^Invalid "prompt" \{"a":1\}: expected a string, an array of strings/],
    [[], "prompt", /not an empty array/],
    [[{}], "prompt.0", /expected a string/],
    [{ text: "x".repeat(100) }, "prompt", /^Invalid "prompt" \{"text":"x{31}…: /],
  ];
  for (const [raw, param, message] of cases) {
    let err: ApiError | undefined;
    try {
      parsePrompts(raw, 10);
    } catch (e) {
      err = e as ApiError;
    }
    assert.ok(err instanceof ApiError, JSON.stringify(raw));
    assert.equal(err.status, 400);
    assert.equal(err.param, param);
    assert.match(err.message, message);
  }
  assert.equal(shortJson([[1, 2, 3]], 5), "[[1,2…");
});
