import assert from "node:assert/strict";
import { z } from "zod";
import { helpText, parseFlags, parseList, toArgv } from "./flags.ts";

const TABLE = {
  lr: { schema: z.number().positive().default(0.002), help: "Learning rate" },
  cell: { schema: z.enum(["rnn", "urnn"]).default("urnn"), help: "Cell type" },
  batch: { schema: z.number().int().min(1).default(20), help: "Batch size" },
  dryRun: { schema: z.boolean().default(false), help: "A few small batches" },
  model: { schema: z.string().optional(), help: "Model folder" },
};

Deno.test("parseFlags() applies types and defaults", () => {
  const f = parseFlags(TABLE, ["--lr", "0.5", "--dry-run", "--batch=4"], "usage");
  assert.deepEqual(f, {
    help: false,
    lr: 0.5,
    cell: "urnn",
    batch: 4,
    dryRun: true,
    model: undefined,
  });
});

Deno.test("parseFlags() refuses unknown and ill-typed flags, naming the bad value", () => {
  assert.throws(
    () => parseFlags(TABLE, ["--lrr", "1"], "u"),
    /Unknown option '--lrr'.*valid flags: --lr --cell/,
  );
  assert.throws(() => parseFlags(TABLE, ["--lr", "abc"], "u"), /Invalid value "abc" for --lr/);
  assert.throws(
    () => parseFlags(TABLE, ["--batch", "2.5"], "u"),
    /Invalid value "2.5" for --batch/,
  );
  assert.throws(
    () => parseFlags(TABLE, ["--cell", "lstm"], "u"),
    /Invalid value "lstm" for --cell: .*expected one of rnn, urnn/,
  );
});

Deno.test("helpText() lists every flag with its type, default and help", () => {
  const h = helpText("usage: x", TABLE);
  assert.match(h, /--lr <number>\s+Learning rate \(default 0\.002\)/);
  assert.match(h, /--cell <rnn\|urnn>\s+Cell type \(default "urnn"\)/);
  assert.match(h, /--batch <int>/);
  assert.match(h, /--dry-run\s+A few small batches\n/);
});

Deno.test("toArgv() gives back argv that parseFlags() reads as the same flags", () => {
  for (const argv of [[], ["--lr", "1e-7", "--dry-run", "--model", "a b"], ["--batch", "3"]]) {
    const f = parseFlags(TABLE, argv, "usage");
    const { help: _, ...flags } = f;
    assert.deepEqual(parseFlags(TABLE, toArgv(TABLE, flags), "usage"), f);
  }
  assert.deepEqual(toArgv(TABLE, { lr: 0.5, dryRun: false }), ["--lr", "0.5"]);
});

Deno.test("parseList() reads a comma-separated flag and names a bad item", () => {
  assert.deepEqual(parseList("35, 150", "bptt", z.number().int().min(1)), [35, 150]);
  assert.deepEqual(parseList("rnn,urnn", "cells", z.enum(["rnn", "urnn"])), ["rnn", "urnn"]);
  assert.throws(
    () => parseList("rnn,lstm", "cells", z.enum(["rnn", "urnn"])),
    /^Error: Invalid item "lstm" in --cells "rnn,lstm": expected one of rnn, urnn$/,
  );
  assert.throws(() => parseList("35,", "bptt", z.number().int()), /Invalid item "" in --bptt/);
  assert.throws(() => parseList("1.5", "workers", z.number().int()), /Invalid item "1.5"/);
});
