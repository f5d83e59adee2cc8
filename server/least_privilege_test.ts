/**
 * The server reads its models and its code and nothing else: not through a route, a model
 * name, a model.json field or a link in a model folder, under Deno (whose permissions also stop
 * it) and Bun (where the app's own checks are all there is).
 */
import assert from "node:assert/strict";
import { realpathSync } from "node:fs";
import { cp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { saveSmallModel, tempDir, useWasm } from "../shared/testing.ts";
import { DENO_SERVE_FLAGS, DENO_SERVE_READ, denoServePermissions } from "./startup.ts";
import { killServer, spawnServer } from "./testing.ts";

const MARK = "SECRET-4b1d";
const bin = (name: string) => join(Deno.cwd(), "node_modules", ".bin", name);

/**
 * A models folder with one good model and three hostile ones (model.json naming a file by `..`,
 * by absolute path, and a vocabulary that is a link), beside a secret file outside it.
 */
async function hostileSetup() {
  await useWasm();
  const root = await tempDir("rotor-perm-");
  const secret = join(root, "secret.txt");
  await writeFile(secret, `${MARK}\n`.repeat(32));
  const models = join(root, "models");
  const good = await saveSmallModel({}, 5);
  await cp(good, join(models, "tiny"), { recursive: true });
  const meta = JSON.parse(await readFile(join(good, "model.json"), "utf8"));
  const variant = async (name: string, edit: (m: typeof meta) => void) => {
    await cp(good, join(models, name), { recursive: true });
    const m = structuredClone(meta);
    edit(m);
    await writeFile(join(models, name, "model.json"), JSON.stringify(m));
  };
  await variant("dotdot", (m) => m.vocab.file = "../../secret.txt");
  await variant("absolute", (m) => m.weights.file = secret);
  await variant("link", () => {});
  await rm(join(models, "link", "vocab.txt"));
  await symlink(secret, join(models, "link", "vocab.txt"));
  await rm(good, { recursive: true });
  return { root, secret, models };
}

/** Every route, asked for the secret every way a request can name a model or a file. */
async function askEverywhere(url: string, secret: string): Promise<string[]> {
  const names = [
    secret,
    `../../../..${secret}`,
    `file://${secret}`,
    "..%2f..%2fsecret.txt",
    "dotdot",
    "absolute",
    "link",
    "tiny/../../secret.txt",
  ];
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const answers: Response[] = [];
  for (const model of names) {
    const id = encodeURIComponent(model);
    answers.push(
      await fetch(`${url}/v1/models/${id}`),
      await fetch(`${url}/v1/models/${id}/tokenizer.json`),
      await fetch(`${url}/v1/models/${id}/tokenizer_config.json`),
      await fetch(`${url}/tokenizer_info?model=${id}`),
      await post("/v1/generate", { model, prompt: "the", max_tokens: 2 }),
      await post("/v1/completions", { model, prompt: "the", max_tokens: 2, stream: false }),
      await post("/v1/perplexity", { model, text: "the a" }),
      await post("/tokenize", { model, text: "the" }),
      await post("/detokenize", { model, ids: [1] }),
    );
  }
  for (const path of [`/..${secret}`, `/%2e%2e${secret}`, `/${secret}`, "/../../secret.txt"]) {
    answers.push(await fetch(`${url}${path}`));
  }
  answers.push(await fetch(`${url}/health`), await fetch(`${url}/v1/models`));
  const out: string[] = [];
  for (const r of answers) out.push(`${r.status} ${await r.text()}`);
  return out;
}

async function serveAndAsk(cmd: string[], models: string, secret: string): Promise<string[]> {
  const { child, url, stderr } = await spawnServer(cmd, { MODELS_DIR: models });
  try {
    const answers = await askEverywhere(url, secret);
    child.kill("SIGTERM");
    await child.status;
    const err = await stderr;
    // Each hostile folder is refused at start-up, for the reason that names it.
    assert.match(
      err,
      /model dotdot skipped: .*"vocab\.file" "\.\.\/\.\.\/secret\.txt" is not a plain file/,
    );
    assert.match(
      err,
      /model absolute skipped: .*"weights\.file" ".*secret\.txt" is not a plain file/,
    );
    assert.match(err, /model link skipped: .*(outside the model folder|Requires read access)/);
    assert.doesNotMatch(err, new RegExp(MARK));
    return answers;
  } finally {
    await killServer(child);
  }
}

function assertNothingLeaked(answers: string[]): void {
  assert.ok(answers.length > 70, `${answers.length} answers`);
  for (const a of answers) assert.doesNotMatch(a, new RegExp(MARK), a.slice(0, 200));
  // Only the good model answers; every hostile name is a 404 (no model of that name).
  const ok = answers.filter((a) => a.startsWith("200 "));
  assert.ok(ok.every((a) => !/secret/.test(a) || /failed|failed_models/.test(a)), ok.join("\n"));
}

Deno.test("the Deno server reads nothing outside its models and code, whatever it is asked", async () => {
  const { root, secret, models } = await hostileSetup();
  try {
    const read = [models, ...DENO_SERVE_READ.slice(1), realpathSync("node_modules")];
    const cmd = [
      bin("deno"),
      "run",
      ...denoServePermissions(read),
      ...DENO_SERVE_FLAGS,
      "server/main.ts",
    ];
    assertNothingLeaked(await serveAndAsk(cmd, models, secret));
  } finally {
    await rm(root, { recursive: true });
  }
});

Deno.test("the Bun server reads nothing outside its models and code, whatever it is asked", async () => {
  const { root, secret, models } = await hostileSetup();
  try {
    assertNothingLeaked(await serveAndAsk([bin("bun"), "server/main_bun.ts"], models, secret));
  } finally {
    await rm(root, { recursive: true });
  }
});

Deno.test("deno task start's permissions refuse a read outside the models and the code", async () => {
  // Not under the temporary folder, which the server may use for its private socket: a
  // checkout inside it proves nothing here.
  if (/^\/tmp(\/|$)/.test(Deno.cwd())) {
    console.warn("SKIPPED: this checkout lies under /tmp, which the server may read and write");
    return;
  }
  await mkdir("runs", { recursive: true });
  const root = await Deno.makeTempDir({ dir: "runs", prefix: ".perm-" });
  try {
    const secret = join(root, "secret.txt");
    await writeFile(secret, MARK);
    const probe = join("server", `.probe-${crypto.randomUUID()}.ts`);
    await writeFile(
      probe,
      `for (const p of ${JSON.stringify([secret, "/etc/hostname", "deno.json"])}) {
        try { Deno.readTextFileSync(p); console.log("read " + p); }
        catch (e) { console.log(e.name + " " + p); }
      }
      for (const f of [() => Deno.writeTextFileSync("server/x", ""), () => new Deno.Command("true").outputSync(), () => Deno.env.get("HOME")]) {
        try { f(); console.log("allowed"); } catch (e) { console.log(e.name); }
      }`,
    );
    try {
      const out = await new Deno.Command(bin("deno"), {
        args: ["run", ...denoServePermissions(), probe],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(
        text,
        `NotCapable ${secret}\nNotCapable /etc/hostname\nNotCapable deno.json\n` +
          "NotCapable\nNotCapable\nNotCapable\n",
        new TextDecoder().decode(out.stderr),
      );
    } finally {
      await rm(probe);
    }
  } finally {
    await rm(root, { recursive: true });
  }
});
