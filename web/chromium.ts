/**
 * Driving the page in headless Chromium (the test and bench/bench_edge.ts): launch with a
 * fresh profile, open the page, and run one model opening + generation + scoring in the tab.
 */
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";

export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Chromium or, outside CI, a loud skip; under CI=true a missing browser is an error. */
export function haveChromium(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const msg =
    `Chromium not found at "${CHROMIUM}" (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (Deno.env.get("CI") === "true") throw new Error(`${msg}; CI=true needs it`);
  console.warn(`\n*** SKIPPED ${what}: ${msg} ***\n`);
  return false;
}

/** Headless Chromium with the profile in `dir` (a fresh one: an empty cache). */
export function launch(dir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface GenerateArgs {
  prompt: string;
  max_tokens: number;
  temperature: number;
  seed: number;
}

/** What one visit measured: the model's opening, a generation's tokens, a text's score. */
export interface PageRun {
  /** The backend the tab chose. */
  backend: string;
  cached: boolean;
  /** openModel's call to the model ready. */
  loadMs: number;
  phases: { backendMs: number; filesMs: number; buildMs: number };
  ids: number[];
  /** The generation's start to its first token. */
  firstTokenMs: number;
  tokensPerS: number;
  score: { perplexity: number; nll: number; tokens: number };
}

/** Open `pageUrl`, then open the model, generate `g` and score `text` in the tab. */
export async function visit(
  page: Page,
  pageUrl: string,
  g: GenerateArgs,
  text: string,
): Promise<PageRun> {
  await page.goto(pageUrl);
  await page.waitForFunction(() => "rotor" in window);
  return await page.evaluate(async ([g, text]) => {
    // deno-lint-ignore no-explicit-any
    const m = await (window as any).rotor.openModel("../../models/ptb-ugru/");
    const ids: number[] = [];
    const r = await m.generate(
      { prompt: g.prompt, maxTokens: g.max_tokens, temperature: g.temperature, seed: g.seed },
      (t: { id: number }) => ids.push(t.id),
    );
    return {
      backend: m.backend,
      cached: m.cached,
      loadMs: m.loadMs,
      phases: m.phases,
      ids,
      firstTokenMs: r.firstTokenMs,
      tokensPerS: r.tokensPerS,
      score: await m.score(text),
    };
  }, [g, text] as const);
}
