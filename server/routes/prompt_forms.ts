/**
 * The `prompt` of OpenAI's legacy completions API in all its forms: a string, an array of
 * strings, an array of token ids, or an array of arrays of token ids (what evaluation tools
 * such as lm-evaluation-harness send once they hold the model's tokenizer).
 */
import { ApiError } from "../errors.ts";
import type { Prompt } from "../text.ts";

const FORMS = "a string, an array of strings, an array of token ids or an array of arrays of " +
  "token ids";

/** At most `max` characters of a value's JSON, marked when cut. */
export function shortJson(value: unknown, max = 40): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length <= max ? s : s.slice(0, max) + "…";
}

function invalid(param: string, value: unknown, why: string): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    `Invalid "${param}" ${shortJson(value)}: ${why}`,
    param,
  );
}

const isId = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x);

function checkIds(ids: readonly unknown[], param: string, vocabSize: number): readonly number[] {
  for (const [i, id] of ids.entries()) {
    if (!isId(id)) {
      throw invalid(`${param}.${i}`, id, `a token id is an integer; "prompt" is ${FORMS}`);
    }
    if (id < 0 || id >= vocabSize) {
      throw invalid(
        `${param}.${i}`,
        id,
        `token id ${id} is outside the vocabulary (ids 0 to ${vocabSize - 1})`,
      );
    }
  }
  return ids as readonly number[];
}

/**
 * The prompts a request's `prompt` holds (absent: one empty prompt), token ids checked
 * against the vocabulary. Anything else is a 400 that names the accepted forms.
 */
export function parsePrompts(raw: unknown, vocabSize: number): Prompt[] {
  if (raw === undefined || raw === null) return [""];
  if (typeof raw === "string") return [raw];
  if (!Array.isArray(raw)) throw invalid("prompt", raw, `expected ${FORMS}`);
  if (raw.length === 0) throw invalid("prompt", raw, `expected ${FORMS}, not an empty array`);
  if (raw.every((x) => typeof x === "string")) return raw as string[];
  if (raw.every((x) => typeof x === "number")) return [checkIds(raw, "prompt", vocabSize)];
  if (raw.every(Array.isArray)) {
    return raw.map((ids: unknown[], i) => checkIds(ids, `prompt.${i}`, vocabSize));
  }
  const kind = (x: unknown) => Array.isArray(x) ? "array" : typeof x;
  const first = kind(raw[0]);
  const ok = ["string", "number", "array"].includes(first);
  const bad = ok ? raw.findIndex((x) => kind(x) !== first) : 0;
  throw invalid(
    `prompt.${bad}`,
    raw[bad],
    `expected ${FORMS}${ok ? ", with elements all of one kind" : ""}`,
  );
}
