/** The error body every route answers with: `{"error": {"message", "type", "param"}}`. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import { jsonDepth, MAX_JSON_DEPTH, preview } from "./json_body.ts";

export type ErrorType =
  | "invalid_request_error"
  | "not_found_error"
  | "permission_error"
  | "request_too_large"
  | "request_timeout"
  | "rate_limit_error"
  | "service_unavailable"
  | "server_error";

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null };
}

/** An error a route throws to answer with a given status; `app.onError` renders it. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly type: ErrorType,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorBody(type: ErrorType, message: string, param: string | null): ErrorBody {
  return { error: { message, type, param } };
}

export function errorResponse(c: Context, err: ApiError): Response {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json(errorBody(err.type, err.message, err.param), err.status);
}

/** Parse a body with a schema; the first problem becomes a 400 naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const param = issue.path.join(".") || null;
  let value: unknown = body;
  for (const k of issue.path) value = (value as Record<PropertyKey, unknown> | undefined)?.[k];
  const shown = value === undefined ? "" : ` ${preview(value)}`;
  const message = param ? `Invalid "${param}"${shown}: ${issue.message}` : issue.message;
  throw new ApiError(400, "invalid_request_error", message, param);
}

/**
 * Bodies longer than this are scanned and parsed one at a time, each after a timer turn. A 1 MB
 * body takes several milliseconds to scan and parse; twenty arriving together were parsed back
 * to back in one turn of the event loop, and /health and the streams waited for all of them.
 */
export const BIG_BODY_CHARS = 64 * 1024;
let bigBodies: Promise<unknown> = Promise.resolve();

/** The JSON body of a request, or a 400 saying why it is not JSON. */
export async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.length <= BIG_BODY_CHARS) return parseJson(text);
  const turn = bigBodies.then(() => new Promise((r) => setTimeout(r, 0))).then(() =>
    parseJson(text)
  );
  bigBodies = turn.catch(() => {});
  return turn;
}

function parseJson(text: string): unknown {
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw new ApiError(
      400,
      "invalid_request_error",
      `Body nests ${depth} levels deep, more than the limit of ${MAX_JSON_DEPTH}`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(
      400,
      "invalid_request_error",
      `Body is not valid JSON: ${(err as Error).message.slice(0, 120)}`,
    );
  }
}
