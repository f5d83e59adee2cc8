/**
 * The wasm backend's threaded build (XNNPACK on a pthread pool) under Deno and Bun.
 *
 * tfjs-backend-wasm starts its pthreads through Emscripten's Node path: `new Worker(url)` of
 * node:worker_threads, with a Blob URL for the thread's script, and it sizes the pool as
 * `os.cpus().length / 2` (it assumes two hyper-threads per core), which is 1 on a 2-vCPU
 * machine. Neither Deno nor Bun starts a worker from a Blob URL, and Emscripten creates 8
 * workers up front (~15 MB each) although the pool uses `threads − 1` of them. No package
 * does this bridging, so this module does, only while the backend initialises:
 *
 * - `Worker` of node:worker_threads becomes `LazyThread`: only the workers the pool will use
 *   start a real worker (shared/wasm_pthread_worker.cjs, given the thread script and the
 *   backend factory as text); the rest stay empty. Real workers are unref'd, so a pool
 *   thread never keeps the process alive.
 * - `os.cpus()` reports twice the cores, so the pool gets the thread count asked for.
 *
 * Everything is restored afterwards. If the threaded backend fails to start, the caller
 * falls back to the single-threaded build (shared/backend.ts).
 */
import workerThreads from "node:worker_threads";
import os from "node:os";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";

/** node's Worker, kept before withWasmThreads replaces it. */
const RealWorker = workerThreads.Worker;
const FACTORY_PREFIX = /^\s*var\s+WasmBackendModuleThreadedSimd\s*=\s*/;

type Message = { cmd?: string; [k: string]: unknown };

/** Real pool threads started so far (for tests and the start-up log). */
export let startedThreads = 0;

/** Blob URLs made while the backend starts, so a LazyThread can read its script. */
const blobs = new Map<string, Blob>();

/** The LazyThreads made during this initialisation, in Emscripten's order. */
let made: LazyThread[] = [];
let wanted = 1;
/** Fails the initialisation in progress (a thread that did not start would hang it). */
let failInit: ((err: Error) => void) | undefined;
let starting: workerThreads.Worker[] = [];

/**
 * Stands in for one of Emscripten's pool workers: the events and methods Emscripten's
 * pthread code uses (on, postMessage, ref, unref, terminate). pthreadpool takes its
 * `threads − 1` workers from the end of Emscripten's pool and then blocks the main thread
 * until they run, so those get a real worker while the pool loads (when the main thread is
 * free to start them); the others answer "loaded" and stay empty.
 */
class LazyThread extends EventEmitter {
  private real?: Promise<workerThreads.Worker>;
  /** The started worker, once nothing is queued for it: messages then go synchronously. */
  private ready?: workerThreads.Worker;
  private pending = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private terminated = false;

  constructor(private readonly scriptUrl: string) {
    super();
    made.push(this);
  }

  postMessage(msg: Message, transfer?: readonly Transferable[]): void {
    if (msg.cmd === "load" && !this.real) {
      if (made.indexOf(this) < made.length - (wanted - 1)) {
        queueMicrotask(() => this.emit("message", { cmd: "loaded" }));
        return;
      }
      this.real = this.start(msg);
      this.queue = this.real;
      this.real.catch((err) => this.fail(err));
      return;
    }
    // Synchronously where possible: pthread_create posts "run" and then blocks the main
    // thread until the thread answers, so a queued message would never leave.
    if (this.ready && this.pending === 0) return this.ready.postMessage(msg, transfer as never);
    // Otherwise in order, behind the start.
    this.pending++;
    this.queue = this.queue.then(async () => {
      if (this.terminated) return;
      const w = await (this.real ??= this.start(undefined));
      w.postMessage(msg, transfer as never);
    }).catch((err) => this.fail(err)).finally(() => this.pending--);
  }

  /** During start-up: fail it; later: report it as Emscripten's worker error. */
  private fail(err: Error): void {
    if (failInit) failInit(err);
    else this.emit("error", err);
  }

  private async start(load: Message | undefined): Promise<workerThreads.Worker> {
    if (!load) throw new Error("wasm threads: a pthread was started on a worker left empty");
    const script = await blobText(this.scriptUrl);
    const factory = load.urlOrBlob instanceof Blob ? await load.urlOrBlob.text() : undefined;
    if (factory === undefined || !FACTORY_PREFIX.test(factory)) {
      throw new Error("wasm threads: the backend's factory script is not the expected Blob");
    }
    // Resolved when a thread starts, not at import: a bundle need not have the file.
    const w = new RealWorker(fileURLToPath(new URL("./wasm_pthread_worker.cjs", import.meta.url)));
    starting.push(w); // ref'd until start-up ends: it is what the process waits on
    w.on("message", (m: Message) => this.emit("message", m));
    w.on("error", (e) => this.fail(e as Error));
    w.on("exit", (c) => this.emit("exit", c));
    w.postMessage({ script });
    w.postMessage({ ...load, factory: factory.replace(FACTORY_PREFIX, "") });
    startedThreads++;
    this.ready = w;
    return w;
  }

  ref(): void {
    // A pool thread waits for work forever; it must not keep the process alive.
  }
  unref(): void {}
  async terminate(): Promise<number> {
    this.terminated = true;
    return this.real ? await (await this.real).terminate() : 0;
  }
}

async function blobText(url: string): Promise<string> {
  const blob = blobs.get(url);
  if (!blob) throw new Error(`wasm threads: no script behind ${url}`);
  return await blob.text();
}

/**
 * Run `init` (which initialises the wasm backend) with the bridging above in place, asking
 * for `threads` pool threads. Restores the patched globals whatever happens.
 */
export async function withWasmThreads<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const wt = workerThreads as unknown as { Worker: unknown };
  const g = globalThis as { Worker: unknown };
  const saved = {
    Worker: wt.Worker,
    globalWorker: g.Worker,
    cpus: os.cpus,
    createObjectURL: URL.createObjectURL,
  };
  made = [];
  wanted = threads;
  const failed = new Promise<never>((_, reject) => failInit = reject);
  const cores = os.cpus();
  wt.Worker = LazyThread;
  // tfjs caps the pool at cpus / 2 and then at `threads`.
  (os as { cpus: () => os.CpuInfo[] }).cpus = () =>
    Array.from({ length: 2 * Math.max(threads, cores.length) }, (_, i) => cores[i % cores.length]!);
  URL.createObjectURL = (obj: Blob) => {
    const url = saved.createObjectURL(obj);
    if (obj instanceof Blob) blobs.set(url, obj);
    return url;
  };
  try {
    return await Promise.race([init(), failed]);
  } finally {
    failInit = undefined;
    for (const w of starting) w.unref();
    starting = [];
    // Emscripten also set the global Worker to node's; put the web one back.
    wt.Worker = saved.Worker;
    g.Worker = saved.globalWorker;
    made = [];
    (os as { cpus: () => os.CpuInfo[] }).cpus = saved.cpus;
    URL.createObjectURL = saved.createObjectURL;
  }
}
