/**
 * Fetching a model's files over HTTP(S) under three budgets: redirects are followed only to
 * URLs under the model's own prefix (a redirect elsewhere would let model.json's host make the
 * loader fetch any URL: a blind SSRF past modelFilePath's confinement), each file has a size
 * limit checked while it arrives, and each fetch has a time limit, body included.
 */

/** Redirects followed, each to a URL under the model's prefix. */
export const MAX_REDIRECTS = 3;
/** Time for one file, from the request to its last byte. */
export const FETCH_TIMEOUT_MS = 60_000;

export interface FetchBudget {
  /** The model's URL prefix (ending in "/"): no redirect may leave it. */
  prefix: string;
  /** Most bytes the file may have. */
  maxBytes: number;
  timeoutMs?: number;
  /** The fetch to use (default: the global one; a Worker passes its service binding's). */
  fetchFn?: (url: string, init: RequestInit) => Promise<Response>;
}

/** The bytes at `url`, or an error that names the URL and the budget it broke. */
export async function fetchBounded(url: string, budget: FetchBudget): Promise<Uint8Array> {
  const timeoutMs = budget.timeoutMs ?? FETCH_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  let at = url;
  try {
    for (let hops = 0;; hops++) {
      const res = await (budget.fetchFn ?? fetch)(at, { redirect: "manual", signal });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel();
        const location = res.headers.get("location");
        const next = location === null ? undefined : new URL(location, at).href;
        if (!next || !next.startsWith(budget.prefix) || hops >= MAX_REDIRECTS) {
          throw new Error(
            `Cannot fetch "${url}": HTTP ${res.status} redirects to ${
              JSON.stringify((next ?? location ?? "").slice(0, 120))
            }, ${
              hops >= MAX_REDIRECTS ? `more than ${MAX_REDIRECTS} redirects` : "outside " +
                budget.prefix
            }`,
          );
        }
        at = next;
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new Error(`Cannot fetch "${url}": HTTP ${res.status}`);
      }
      return await readBounded(res, url, budget.maxBytes);
    }
  } catch (err) {
    if (signal.aborted) {
      throw new Error(`Cannot fetch "${url}": no answer within ${timeoutMs} ms`);
    }
    throw err;
  }
}

async function readBounded(res: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  const tooBig = (n: number | string) =>
    new Error(`Cannot fetch "${url}": ${n} bytes, more than the limit of ${maxBytes}`);
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooBig(declared);
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    size += r.value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooBig(`over ${maxBytes}`);
    }
    chunks.push(r.value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
