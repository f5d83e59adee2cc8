import assert from "node:assert/strict";
import { DEFAULT_LIMITS } from "../server/limits.ts";
import { EDGE_LIMITS, modelUrls } from "./config.ts";

Deno.test("modelUrls() names each MODEL_URL by its last path segment, in order", () => {
  const urls = modelUrls({
    MODEL_URL: "https://a.example/models/ptb-ugru/, http://models/ptb-urnn",
  });
  assert.deepEqual([...urls], [
    ["ptb-ugru", "https://a.example/models/ptb-ugru/"],
    ["ptb-urnn", "http://models/ptb-urnn"],
  ]);
  assert.throws(() => modelUrls({}), /MODEL_URL is not set/);
});

Deno.test("EDGE_LIMITS differ from the server's only in the scoring budget", () => {
  assert.deepEqual({ ...EDGE_LIMITS, maxScoreTokens: 0 }, { ...DEFAULT_LIMITS, maxScoreTokens: 0 });
  assert.equal(EDGE_LIMITS.maxScoreTokens, 10_000);
});
