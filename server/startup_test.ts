import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { DENO_SERVE_FLAGS } from "./startup.ts";

Deno.test("deno task start runs server/main.ts with DENO_SERVE_FLAGS", async () => {
  const tasks = JSON.parse(await readFile("deno.json", "utf8")).tasks as Record<string, string>;
  assert.equal(
    tasks.start,
    `node_modules/.bin/deno run -A ${DENO_SERVE_FLAGS.join(" ")} server/main.ts`,
  );
});
