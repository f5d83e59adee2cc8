// One XNNPACK thread of the wasm backend's threaded build, under Deno's or Bun's
// node:worker_threads (see shared/wasm_threads.ts, which starts it).
//
// tfjs-backend-wasm ships its pthread worker as a script written for browsers and Node.
// Three things differ here, and this file bridges them before running that script:
// - the script arrives as this worker's first message (tfjs makes it a Blob URL, which
//   worker_threads cannot start);
// - it assigns `location`, `self`, … on the global object, which are getters here: they
//   become plain writable properties first;
// - the backend's factory (which tfjs posts as a Blob) arrives as text in the "load" message
//   and is evaluated here, instead of through importScripts of a Blob URL.
"use strict";
const { parentPort } = require("node:worker_threads");

const FACTORY = "rotor:factory";
const on = parentPort.on.bind(parentPort);

parentPort.once("message", (first) => {
  for (const k of ["self", "location", "importScripts", "postMessage", "performance", "Worker"]) {
    Object.defineProperty(globalThis, k, { value: undefined, writable: true, configurable: true });
  }
  // The factory's source refers to these by the names the backend's bundle gave them.
  Object.assign(globalThis, {
    require$$0: require("node:fs"),
    require$$1: require("node:path"),
    require$$3: require("node:perf_hooks"),
    require$$4: require("node:os"),
    commonjsGlobal: globalThis,
    // The script runs in global scope, where a CommonJS module's own names are not seen.
    require,
    __filename,
  });
  // The script registers its message handler through parentPort.on: wrap it so a "load"
  // message's factory text is evaluated first.
  parentPort.on = (event, handler) => {
    if (event !== "message") return on(event, handler);
    return on("message", (data) => {
      if (data && data.cmd === "load" && typeof data.factory === "string") {
        globalThis.WasmBackendModuleThreadedSimd = (0, eval)(`(${data.factory})`);
        delete data.factory;
        data.urlOrBlob = FACTORY;
      }
      handler(data);
    });
  };
  (0, eval)(first.script);
  const importScripts = globalThis.importScripts;
  globalThis.importScripts = (f) => (f === FACTORY ? undefined : importScripts(f));
});
