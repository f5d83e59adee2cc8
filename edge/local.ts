/**
 * The Worker under workerd on loopback, for the test and the measurements: build, start
 * (edge/workerd.capnp, on free ports, the models folder as its disk service), read the
 * isolate's JS heap through the V8 inspector, stop.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildEdge } from "./build.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The fixed-seed generation every runtime must give token for token (the edge and web tests). */
export const GENERATE = { prompt: "the company said", max_tokens: 40, temperature: 0.8, seed: 7 };

export interface LocalEdge {
  url: string;
  /** The isolate's V8 heap: bytes in use and reserved (wasm memory is not part of it). */
  heap(): Promise<{ usedBytes: number; totalBytes: number }>;
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Build the Worker (unless `build` is false) and serve it under workerd. */
export async function startLocalEdge(
  opts: { build?: boolean; modelsDir?: string } = {},
): Promise<LocalEdge> {
  if (opts.build !== false) await buildEdge();
  const port = freePort(), inspector = freePort();
  const child = new Deno.Command(join(ROOT, "node_modules/.bin/workerd"), {
    args: [
      "serve",
      join(ROOT, "edge/workerd.capnp"),
      `--socket-addr=http=127.0.0.1:${port}`,
      `--directory-path=models=${opts.modelsDir ?? join(ROOT, "models")}`,
      `--inspector-addr=127.0.0.1:${inspector}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const decoder = new TextDecoder();
  const listening = Promise.withResolvers<void>();
  const timer = setTimeout(
    () => listening.reject(new Error("workerd did not listen within 20 s")),
    20_000,
  );
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      const text = decoder.decode(chunk);
      log.push(text);
      if (text.includes("Listening on")) listening.resolve();
    }
  };
  const readers = [read(child.stdout), read(child.stderr)];
  child.status.then((s) =>
    listening.reject(new Error(`workerd exited (${s.code}): ${log.join("")}`))
  );
  try {
    await listening.promise;
  } finally {
    clearTimeout(timer);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    heap: () => heapUsage(`ws://127.0.0.1:${inspector}/main`),
    async stop() {
      // workerd drains open connections on SIGTERM; after a moment it is killed.
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await child.status;
      clearTimeout(killer);
      await Promise.all(readers);
    },
  };
}

/** Runtime.getHeapUsage of the inspector target at `ws`. */
async function heapUsage(ws: string): Promise<{ usedBytes: number; totalBytes: number }> {
  const socket = new WebSocket(ws);
  try {
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error(`Cannot reach workerd's inspector at ${ws}`));
    });
    const reply = new Promise<{ result: { usedSize: number; totalSize: number } }>((resolve) => {
      socket.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.id === 1) resolve(m);
      };
    });
    socket.send(JSON.stringify({ id: 1, method: "Runtime.getHeapUsage" }));
    const { result } = await reply;
    return { usedBytes: result.usedSize, totalBytes: result.totalSize };
  } finally {
    socket.close();
  }
}
