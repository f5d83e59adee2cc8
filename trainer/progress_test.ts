import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../shared/testing.ts";

Deno.test("progressLine() reaches a pipe while the writer is still busy, not when it yields", async () => {
  const dir = await tempDir("rotor-progress-");
  const flag = join(dir, "seen");
  const script = join(dir, "child.ts");
  // The child writes a line, then spins (never yielding) until the parent says it saw it.
  await writeFile(
    script,
    `import { progressLine } from ${JSON.stringify(new URL("./progress.ts", import.meta.url).href)};
import { existsSync } from "node:fs";
progressLine("step 1");
const end = Date.now() + 20_000;
while (!existsSync(${JSON.stringify(flag)})) if (Date.now() > end) Deno.exit(3);
progressLine("done", true);`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (text.includes("step 1") && !existsSync(flag)) await writeFile(flag, "");
  }
  const { code } = await child.status;
  assert.equal(code, 0, `the child saw no reader in time; its stderr: ${text}`);
  assert.match(text, /step 1\ndone\n/);
});
