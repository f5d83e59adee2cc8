import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../shared/testing.ts";
import { quiet } from "../trainer/testing.ts";
import { folderStamp, newReportDir, reportDir } from "./report_out.ts";

const ROOT = join(import.meta.dirname!, "..");

Deno.test("folderStamp() writes the UTC time as a sortable file name", () => {
  assert.equal(folderStamp(new Date("2026-12-04T07:05:09.999Z")), "20261204-070509");
});

Deno.test("newReportDir() makes a new folder each time, even within one second", async () => {
  const root = await tempDir();
  const now = new Date("2026-12-04T17:40:05Z");
  const a = await newReportDir("gradflow", { root, now });
  const b = await newReportDir("gradflow", { root, now });
  assert.equal(a, join(root, "gradflow-20261204-174005"));
  assert.equal(b, join(root, "gradflow-20261204-174005-2"));
  assert.ok(existsSync(a) && existsSync(b));
});

Deno.test("reportDir() takes --out, then the committed folder with --replace, else a new one", async () => {
  const root = await tempDir();
  const base = { command: "context", committed: "reports/context", root };
  assert.equal(await reportDir({ ...base, replace: true, out: "x" }), "x");
  assert.equal(await reportDir({ ...base, replace: true }), "reports/context");
  const fresh = await quiet(() => reportDir({ ...base, replace: false }));
  assert.match(fresh, /context-\d{8}-\d{6}$/);
  assert.deepEqual(await readdir(root), [fresh.slice(root.length + 1)]);
});

/** Runs a research command in `cwd` (a scratch copy of the layout), as `deno task` would. */
async function runIn(cwd: string, script: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", join(ROOT, "deno.json"), join(ROOT, script), ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, text);
  return text;
}

Deno.test("gradflow leaves the committed reports/gradflow alone unless told --replace", async () => {
  const cwd = await tempDir();
  await mkdir(join(cwd, "reports", "gradflow"), { recursive: true });
  const committed = join(cwd, "reports", "gradflow", "gradflow.json");
  await writeFile(committed, "committed\n");
  const args = ["--dry-run", "--cells", "rnn", "--backend", "wasm"];
  const log = await runIn(cwd, "research/gradflow.ts", args);
  assert.equal(await readFile(committed, "utf8"), "committed\n");
  const [made, ...more] = await readdir(join(cwd, "runs", "reports"));
  assert.deepEqual(more, []);
  assert.match(made!, /^gradflow-\d{8}-\d{6}$/);
  assert.ok(existsSync(join(cwd, "runs", "reports", made!, "gradflow.svg")));
  assert.match(log, /reports\/gradflow is kept; --replace writes there/);
  await runIn(cwd, "research/gradflow.ts", [...args, "--replace"]);
  assert.equal(JSON.parse(await readFile(committed, "utf8")).k, 20);
});
