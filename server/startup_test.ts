import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { BUN_START_COMMAND, DENO_START_COMMAND, readServeEnv, SERVE_ENV_VARS } from "./startup.ts";

Deno.test("deno task start and npm start run server/main.ts with DENO_START_COMMAND", async () => {
  const tasks = JSON.parse(await readFile("deno.json", "utf8")).tasks as Record<string, string>;
  const scripts = JSON.parse(await readFile("package.json", "utf8")).scripts;
  assert.equal(tasks.start, DENO_START_COMMAND);
  assert.equal(tasks["start:bun"], BUN_START_COMMAND);
  // exec: npm's child is the server itself, so the signals npm passes on reach it.
  assert.equal(scripts.start, `exec ${DENO_START_COMMAND}`);
  assert.equal(scripts["start:bun"], `exec ${BUN_START_COMMAND}`);
  assert.doesNotMatch(DENO_START_COMMAND, / -A | --allow-all| --allow-run|--allow-ffi/);
  assert.deepEqual(DENO_START_COMMAND.match(/--allow-sys\S*/g), ["--allow-sys=cpus,setPriority"]);
  // The one folder it may write is the temporary one, for the socket behind its front.
  assert.deepEqual(DENO_START_COMMAND.match(/--allow-write=\S*/g), ["--allow-write=/tmp"]);
});

Deno.test("readServeEnv() reads only the variables of SERVE_ENV_VARS", () => {
  const asked = new Set<string>();
  const env = new Proxy({}, {
    get: (_, name) => {
      asked.add(String(name));
      return undefined;
    },
  });
  const parsed = readServeEnv(env);
  assert.equal(parsed.shutdownGraceMs, 10_000);
  assert.deepEqual([...asked].filter((n) => !SERVE_ENV_VARS.includes(n)), []);
});

Deno.test("server/README.md's settings table lists every variable the server reads", async () => {
  const readme = await readFile(new URL("./README.md", import.meta.url), "utf8");
  // SCORE_THREADS is only read to refuse it with the name of its replacement.
  for (const name of SERVE_ENV_VARS.filter((n) => n !== "SCORE_THREADS")) {
    assert.match(readme, new RegExp(`^\\| [^|]*\`${name}\``, "m"), `${name} is not in the table`);
  }
});
