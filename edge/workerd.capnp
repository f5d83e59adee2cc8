# rotor's Worker under workerd, for local runs and the test (edge/edge_test.ts):
#   deno run -A edge/build.ts && node_modules/.bin/workerd serve edge/workerd.capnp   (from the repository root)
# serves models/ptb-ugru on http://127.0.0.1:8787/ (--socket-addr http=HOST:PORT moves it).
# The models folder is a disk service the Worker fetches model files through, as it would
# fetch them from R2 or any HTTP origin on Cloudflare (wrangler.toml).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .rotor),
    (name = "models", disk = (path = "models", writable = false)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "main")],
);

const rotor :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "dist/worker.js"),
    (name = "tfjs-backend-wasm-simd.wasm", wasm = embed "dist/tfjs-backend-wasm-simd.wasm"),
  ],
  compatibilityDate = "2025-09-15",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [
    (name = "MODEL_URL", text = "http://models/ptb-ugru"),
    (name = "MODELS", service = "models"),
    (name = "MODEL", durableObjectNamespace = "ModelHost"),
  ],
  durableObjectNamespaces = [(className = "ModelHost", uniqueKey = "rotor-model-host")],
  durableObjectStorage = (inMemory = void),
);
