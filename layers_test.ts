/**
 * The layout's one rule, checked over every TypeScript file: dependencies point one way.
 * shared/ (the model package) imports only itself; trainer/ and server/ import shared/ and
 * never each other; bench/ and research/ (the poster lab, built on the trainer) sit on top, and
 * nothing below imports them. edge/ (the Workers build) and web/ (the in-browser page) are
 * server/'s other runtimes: they import shared/ and server/, web/ also edge/'s bundler settings,
 * and neither trainer/ nor bench/. Within the layers no two modules import each other, even
 * through others: a circle makes the load order matter.
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
  research: ["shared", "trainer", "research"],
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

/** Like localImports, less worker URLs: a worker runs apart, so it closes no import circle. */
export function moduleImports(source: string): string[] {
  const workers = new Set(
    [...source.matchAll(/new URL\(\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!),
  );
  return localImports(source).filter((s) => !workers.has(s));
}

Deno.test("localImports() finds static, dynamic and worker-URL imports", () => {
  const src = `import { a } from "./a.ts";\nimport type { B } from "../b/b.ts";\n` +
    `const w = new URL("./w.ts", import.meta.url); await import("../c.ts"); import "./d.ts";`;
  assert.deepEqual(localImports(src), ["./a.ts", "../b/b.ts", "./w.ts", "../c.ts", "./d.ts"]);
});

Deno.test("dependencies point one way: shared ← trainer, server ← bench, research, edge, web", async () => {
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

/** The first import circle found in a graph of file → imported files, as a path, or null. */
export function findCircle(graph: Map<string, string[]>): string[] | null {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    const at = path.indexOf(file);
    if (at >= 0) return [...path.slice(at), file];
    if (done.has(file)) return null;
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const circle = visit(next);
      if (circle) return circle;
    }
    path.pop();
    done.add(file);
    return null;
  };
  for (const file of graph.keys()) {
    const circle = visit(file);
    if (circle) return circle;
  }
  return null;
}

Deno.test("findCircle() finds a circle through a third module and passes a diamond", () => {
  const circle = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]]);
  assert.deepEqual(findCircle(circle), ["a", "b", "c", "a"]);
  const diamond = new Map([["a", ["b", "c"]], ["b", ["d"]], ["c", ["d"]], ["d", []]]);
  assert.equal(findCircle(diamond), null);
});

Deno.test("no module imports itself through others", async () => {
  const graph = new Map<string, string[]>();
  for (const layer of Object.keys(MAY_IMPORT)) {
    for (const file of await tsFiles(layer)) {
      const src = await readFile(join(ROOT, file), "utf8");
      // Type-only imports vanish at run time but still tie the modules together: they count.
      const specs = moduleImports(src).filter((s) => s.endsWith(".ts"));
      graph.set(file, specs.map((s) => normalize(join(dirname(file), s))));
    }
  }
  assert.equal(findCircle(graph)?.join(" → ") ?? null, null);
});
