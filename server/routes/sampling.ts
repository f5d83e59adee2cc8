/** Fields that every generating route shares, and the 429 gate in front of the engine. */
import { z } from "zod";
import { EngineBusyError } from "../engine.ts";
import type { ServedModel } from "../models.ts";

export const Stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish()
  .transform((s) => (s == null ? [] : typeof s === "string" ? [s] : s));

export const Seed = z.number().int().min(0).max(2 ** 32 - 1).nullish();

/** A seed for a request that gave none, reported back so the text can be reproduced. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/** 429 with Retry-After when the model's batch and queue are full for `streams` more. */
export function admit(model: ServedModel, streams: number): void {
  if (!model.engine.canAccept(streams)) {
    throw new EngineBusyError(
      1,
      `Model "${model.name}" is at capacity (${model.engine.stats().active} streams running, ` +
        `${model.engine.stats().queued} queued); retry later`,
    );
  }
}
