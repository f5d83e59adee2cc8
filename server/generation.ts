/**
 * One generation request on top of the engine: words, sentences, stop strings and limits.
 * Events go to `emit` as they are decided; the promise resolves with the `done` summary.
 */
import { detokenize } from "../shared/tokenize.ts";
import { EOS } from "../shared/vocab.ts";
import type { Engine, SampledToken } from "./engine.ts";
import type { ServedModel } from "./models.ts";
import { createStopMatcher } from "./stop.ts";
import { type Context, piece, type Prompt, promptContext } from "./text.ts";

export type FinishReason = "length" | "sentences" | "stop" | "cancelled";

export interface GenerateParams {
  prompt: Prompt;
  maxTokens: number;
  maxSentences?: number;
  temperature: number;
  topK?: number;
  topP?: number;
  seed: number;
  stop: string[];
  /** Alternatives per token to report (completions' `logprobs`). */
  topLogprobs?: number;
  /** The prompt already tokenized (to check its budget), else it is tokenized here. */
  context?: Context;
}

export interface TokenEvent {
  id: number;
  /** The word, as the vocabulary spells it. */
  text: string;
  /** The text this word adds to the output (a space before most words, "\n" for `<eos>`). */
  piece: string;
  logprob: number;
  /** Most likely alternatives as [word's piece, logprob]. */
  top?: [string, number][];
}

export interface SentenceEvent {
  index: number;
  text: string;
  logprob: number;
}

export interface Timings {
  queued_ms: number;
  total_ms: number;
  tokens_per_s: number;
}

export interface DoneEvent {
  finish_reason: FinishReason;
  generated_tokens: number;
  seed: number;
  timings: Timings;
}

export type GenEvent =
  | { type: "token"; data: TokenEvent }
  | { type: "sentence"; data: SentenceEvent };

export interface GenerationResult {
  done: DoneEvent;
  /** The output text; on a stop string, cut where it begins. */
  text: string;
  promptTokens: number;
  oov: number;
}

/**
 * Run one generation. Resolves when it ends for any reason (client gone: "cancelled");
 * rejects when the engine fails or `emit` throws.
 */
export async function generate(
  model: ServedModel,
  engine: Engine,
  p: GenerateParams,
  emit: (ev: GenEvent) => void,
  signal?: AbortSignal,
): Promise<GenerationResult> {
  const t0 = performance.now();
  const vocab = model.vocab;
  const ctx = p.context ?? promptContext(vocab, p.prompt);
  const stop = createStopMatcher<TokenEvent>(p.stop);
  let lineStart = ctx.tokens.length === 0 || ctx.tokens.at(-1) === EOS;
  let sampled = 0, released = 0, sentences = 0, text = "";
  let firstStep = 0;
  let sentence: { words: string[]; logprob: number } = { words: [], logprob: 0 };
  let reason: FinishReason = "length";

  const release = (t: TokenEvent) => {
    released++;
    text += t.piece;
    emit({ type: "token", data: t });
    if (t.text === EOS) {
      emit({
        type: "sentence",
        data: {
          index: sentences++,
          text: detokenize(sentence.words).trimEnd(),
          logprob: sentence.logprob + t.logprob,
        },
      });
      sentence = { words: [], logprob: 0 };
    } else {
      sentence.words.push(t.text);
      sentence.logprob += t.logprob;
    }
  };
  const onToken = (s: SampledToken): boolean => {
    if (sampled === 0) firstStep = performance.now();
    sampled++;
    const word = vocab.words[s.id]!;
    const tok: TokenEvent = {
      id: s.id,
      text: word,
      piece: piece(word, lineStart),
      logprob: s.logprob,
    };
    if (s.top) {
      tok.top = s.top.map(([id, lp]) => [piece(vocab.words[id]!, lineStart), lp]);
    }
    lineStart = word === EOS;
    const r = stop.push(tok.piece, tok);
    for (const t of r.release) {
      release(t);
      if (p.maxSentences !== undefined && sentences >= p.maxSentences) {
        reason = "sentences";
        return false;
      }
    }
    if (r.stopped) {
      text += r.tail;
      reason = "stop";
      return false;
    }
    if (sampled >= p.maxTokens) {
      for (const t of stop.flush()) release(t);
      reason = "length";
      return false;
    }
    return true;
  };

  if (p.maxTokens > 0) {
    const how = await engine.submit({
      context: ctx.ids,
      sampling: {
        temperature: p.temperature,
        topK: p.topK,
        topP: p.topP,
        exclude: [vocab.unk],
      },
      seed: p.seed,
      topLogprobs: p.topLogprobs,
      signal,
      onToken,
    });
    if (how === "aborted") reason = "cancelled";
  }
  const t1 = performance.now();
  const genS = sampled > 0 ? (t1 - firstStep) / 1000 : 0;
  return {
    done: {
      finish_reason: reason,
      generated_tokens: released,
      seed: p.seed,
      timings: {
        queued_ms: round((firstStep || t1) - t0),
        total_ms: round(t1 - t0),
        tokens_per_s: genS > 0 ? round(sampled / genS) : 0,
      },
    },
    text,
    promptTokens: ctx.tokens.length,
    oov: ctx.oov,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;
