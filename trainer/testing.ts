/** Test helpers for the trainer: a small generated corpus in the PTB file layout. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createPrng } from "../shared/prng.ts";
import { tempDir } from "../shared/testing.ts";
import { type FileIo, NODE_IO } from "./run_files.ts";

const SUBJECTS = ["the company", "the market", "investors", "the bank", "mr. smith", "analysts"];
const VERBS = ["said", "expects", "reported", "sold", "bought", "rose", "fell"];
const OBJECTS = ["N shares", "the stock", "$ N million", "its stake", "the bonds", "profit"];
const TAILS = ["", "in N", "last year", "on friday", "for the quarter"];

/**
 * Writes ptb.{train,valid,test}.txt of sentences from a small grammar (so a model can learn
 * it quickly); returns the folder. Use with --skip-md5.
 */
export async function writeSmallCorpus(seed = 1, trainLines = 400): Promise<string> {
  const prng = createPrng(seed);
  const pick = (a: string[]) => a[prng.int(a.length)]!;
  const lines = (n: number) =>
    Array.from(
      { length: n },
      () =>
        ` ${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(TAILS)} `.replace(/ +/g, " "),
    )
      .join("\n") + "\n";
  const dir = await tempDir("rotor-corpus-");
  await writeFile(join(dir, "ptb.train.txt"), lines(trainLines));
  await writeFile(join(dir, "ptb.valid.txt"), lines(60));
  await writeFile(join(dir, "ptb.test.txt"), lines(60));
  return dir;
}

/** Run f with console.log silenced (the trainer prints its configuration and results). */
export async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  try {
    return await f();
  } finally {
    console.log = log;
  }
}

/** Trainer flags for a tiny, fast run on a small corpus (see writeSmallCorpus). */
export function smallRunArgs(data: string, runs: string, name: string): string[] {
  return [
    ...["--hidden", "8", "--batch", "4", "--bptt", "5", "--skip-md5", "--backend", "wasm"],
    ...["--data", data, "--runs", runs, "--name", name],
  ];
}

/** A file system whose writes stop part-way with `code`, as a full disk or a read-only one does. */
export function failingIo(code: string, when: (path: string) => boolean = () => true): FileIo {
  const fail = () => Object.assign(new Error(`simulated ${code}`), { code });
  return {
    ...NODE_IO,
    writeFile: async (p, d) => {
      if (!when(p)) return NODE_IO.writeFile(p, d);
      await NODE_IO.writeFile(p, typeof d === "string" ? d.slice(0, 7) : d.subarray(0, 7));
      throw fail();
    },
    appendFile: async (p, d) => {
      if (!when(p)) return NODE_IO.appendFile(p, d);
      await NODE_IO.appendFile(p, d.slice(0, 3));
      throw fail();
    },
  };
}
