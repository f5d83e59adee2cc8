/**
 * Flat, typed command-line flags: each has a zod schema (type and default) and one line of
 * help. Built on node:util parseArgs; unknown or ill-typed flags are refused with a message
 * that names the bad value and what is valid.
 */
import { parseArgs } from "node:util";
import { z } from "zod";

export interface Flag {
  schema: z.ZodType;
  help: string;
}
export type FlagTable = Record<string, Flag>;
export type Flags<T extends FlagTable> = { [K in keyof T]: z.output<T[K]["schema"]> };

/** A flag's name on the command line: "scoreLines" → "score-lines". */
export const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

function inner(s: z.ZodType): z.ZodType {
  let cur: z.ZodType = s;
  // Unwrap .default() / .optional() to see the flag's base type.
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional) {
    cur = cur.unwrap() as z.ZodType;
  }
  return cur;
}

function isBoolean(f: Flag): boolean {
  return inner(f.schema) instanceof z.ZodBoolean;
}

function describe(f: Flag): string {
  const s = inner(f.schema);
  if (s instanceof z.ZodEnum) return (s.options as string[]).join("|");
  if (s instanceof z.ZodNumber) return s.format === "safeint" ? "int" : "number";
  if (s instanceof z.ZodBoolean) return "";
  return "string";
}

function defaultOf(f: Flag): unknown {
  const r = f.schema.safeParse(undefined);
  return r.success ? r.data : undefined;
}

export function helpText(usage: string, table: FlagTable): string {
  const lines = Object.entries(table).map(([k, f]) => {
    const type = describe(f);
    const d = defaultOf(f);
    const left = `  --${kebab(k)}${type ? ` <${type}>` : ""}`;
    const dflt = d === undefined || d === false ? "" : ` (default ${JSON.stringify(d)})`;
    return `${left.padEnd(40)} ${f.help}${dflt}`;
  });
  return `${usage}\n\nFlags:\n${lines.join("\n")}\n  --help${" ".repeat(34)} Show this help`;
}

/** The raw values of argv's flags, by kebab-case name; unknown flags are refused. */
function rawValues(table: FlagTable, argv: string[]): Record<string, string | boolean | undefined> {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const [k, f] of Object.entries(table)) {
    options[kebab(k)] = { type: isBoolean(f) ? "boolean" : "string" };
  }
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const msg = (err as Error).message.split(". ")[0]!.replace(/\.$/, "");
    throw new Error(
      `${msg}; valid flags: ${Object.keys(table).map((k) => "--" + kebab(k)).join(" ")}`,
    );
  }
}

/**
 * The flags argv gives explicitly, by the parser's own reading (so "--lr-orth" is not taken
 * for "--lr", and "--lr=0.1" counts).
 */
export function givenFlags<T extends FlagTable>(table: T, argv: string[]): Set<keyof T> {
  const values = rawValues(table, argv);
  return new Set(Object.keys(table).filter((k) => values[kebab(k)] !== undefined));
}

/** Parse argv against the table; throws Error with a clear message on bad input. */
export function parseFlags<T extends FlagTable>(
  table: T,
  argv: string[],
  _usage: string,
): Flags<T> & { help: boolean } {
  const values = rawValues(table, argv);
  const out: Record<string, unknown> = { help: values.help === true };
  for (const [k, f] of Object.entries(table)) {
    const raw = values[kebab(k)];
    const base = inner(f.schema);
    let v: unknown = raw;
    if (typeof raw === "string" && base instanceof z.ZodNumber) {
      v = raw.trim() === "" ? NaN : Number(raw);
    }
    const r = f.schema.safeParse(v);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const allowed = base instanceof z.ZodEnum
        ? `; expected one of ${(base.options as string[]).join(", ")}`
        : "";
      throw new Error(`Invalid value "${raw}" for --${kebab(k)}: ${issue.message}${allowed}`);
    }
    out[k] = r.data;
  }
  return out as Flags<T> & { help: boolean };
}

/**
 * A comma-separated flag value ("rnn,gru", "35,150") as a list, each item checked by `item`;
 * the error names the flag, the bad item and, for an enum, the valid items.
 */
export function parseList<T>(raw: string, flag: string, item: z.ZodType<T>): T[] {
  const parts = raw.split(",").map((p) => p.trim());
  const base = inner(item);
  return parts.map((p) => {
    const r = item.safeParse(base instanceof z.ZodNumber && p !== "" ? Number(p) : p);
    if (r.success) return r.data;
    const why = base instanceof z.ZodEnum
      ? `expected one of ${(base.options as string[]).join(", ")}`
      : r.error.issues[0]!.message;
    throw new Error(`Invalid item "${p}" in --${flag} "${raw}": ${why}`);
  });
}

/** Run a CLI main: print help on --help, and print errors without a stack trace. */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    process.exit(2);
  }
}

/** The argv that parseFlags turns back into `flags`: undefined and false flags are left out. */
export function toArgv<T extends FlagTable>(table: T, flags: Partial<Flags<T>>): string[] {
  const out: string[] = [];
  for (const k of Object.keys(table)) {
    const v = (flags as Record<string, unknown>)[k];
    if (v === undefined || v === false) continue;
    out.push(`--${kebab(k)}`);
    if (v !== true) out.push(String(v));
  }
  return out;
}
