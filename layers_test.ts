/**
 * The layout's one rule, checked over every TypeScript file: dependencies point one way.
 * shared/ (the model package) imports only itself; trainer/ and server/ import shared/ and
 * never each other; bench/ sits on top and may import all three. edge/ (the Workers build) and
 * web/ (the in-browser page) are server/'s other runtimes: they import shared/ and server/, web/
 * also edge/'s bundler settings, and neither trainer/ nor bench/.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = dirname(new URL(import.meta.url).pathname);
const MAY_IMPORT: Record<string, string[]> = {
  shared: ["shared"],
  trainer: ["shared", "trainer"],
  server: ["shared", "server"],
  bench: ["shared", "trainer", "server", "edge", "web", "bench"],
  edge: ["shared", "server", "edge"],
  web: ["shared", "server", "edge", "web"],
};

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) out.push(...await tsFiles(rel));
    else if (e.name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** Relative specifiers of static and dynamic imports and of `new URL(…, import.meta.url)`. */
export function localImports(source: string): string[] {
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|new URL\(\s*)["'](\.{1,2}\/[^"']+)["']/g;
  return [...source.matchAll(re)].map((m) => m[1]!);
}

Deno.test("localImports() finds static, dynamic and worker-URL imports", () => {
  const src = `import { a } from "./a.ts";\nimport type { B } from "../b/b.ts";\n` +
    `const w = new URL("./w.ts", import.meta.url); await import("../c.ts"); import "./d.ts";`;
  assert.deepEqual(localImports(src), ["./a.ts", "../b/b.ts", "./w.ts", "../c.ts", "./d.ts"]);
});

Deno.test("dependencies point one way: shared ← trainer, server ← bench, edge, web", async () => {
  const wrong: string[] = [];
  for (const [layer, allowed] of Object.entries(MAY_IMPORT)) {
    for (const file of await tsFiles(layer)) {
      const src = await readFile(join(ROOT, file), "utf8");
      // Only code counts: a test may read data folders such as models/.
      for (const spec of localImports(src).filter((s) => /\.(ts|js|cjs|mjs)$/.test(s))) {
        const target = normalize(join(dirname(file), spec));
        const top = relative(".", target).split("/")[0]!;
        if (!allowed.includes(top)) wrong.push(`${file} imports ${target}`);
      }
    }
  }
  assert.deepEqual(wrong, [], "imports that go against the layers");
});
