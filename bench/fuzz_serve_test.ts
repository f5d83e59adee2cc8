/**
 * The short seeded hostile-client run of `npm test`: the real servers as subprocesses on a tiny
 * model, every category of bad request and every heavy case. Timings are printed, not asserted
 * (a loaded machine may miss them); `deno task fuzz:serve` enforces them.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { saveSmallModel, useWasm } from "../shared/testing.ts";
import { fuzzCases } from "./fuzz_cases.ts";
import { fuzzServer, fuzzTable, modelsFolder } from "./fuzz_serve.ts";
import { DEFAULT_LIMITS } from "../server/limits.ts";

Deno.test("fuzzCases() is seeded and covers every category", () => {
  const a = [...fuzzCases(3, 40, DEFAULT_LIMITS)].map((c) => c.category + c.path);
  const b = [...fuzzCases(3, 40, DEFAULT_LIMITS)].map((c) => c.category + c.path);
  assert.deepEqual(a, b);
  assert.equal(new Set([...fuzzCases(3, 26, DEFAULT_LIMITS)].map((c) => c.category)).size, 13);
});

for (const runtime of ["deno", "bun"]) {
  Deno.test(`a hostile client gets no 5xx from the ${runtime} server, which stays healthy`, async () => {
    await useWasm();
    const model = await saveSmallModel({}, 5);
    const dir = await modelsFolder(model);
    try {
      const r = await fuzzServer(runtime, dir, {
        cases: 130,
        seed: 11,
        heavy: true,
        slowClients: 2,
        targetMs: 100,
        warmUps: 0,
        attacks: true,
      }, {});
      console.log(fuzzTable([r]));
      assert.deepEqual(r.serverErrors, []);
      assert.equal(r.poisoned, null);
      assert.deepEqual(r.slowBodies, { "408": 2 });
      for (const h of r.heavy) assert.equal(h.status, h.want, h.name);
      for (const a of r.attacks) assert.ok(a.ok, `${a.name}: ${a.detail}`);
      assert.deepEqual(r.attacks.map((a) => a.name), [
        "foreign Host (DNS rebinding)",
        "text/plain POST from another origin",
        "text/plain POST",
        "form POST",
        "JSON POST from the server's own origin",
        "connection flood, ulimit -n 256",
        "MODEL_URL redirecting outside its prefix",
      ]);
    } finally {
      await rm(dir, { recursive: true });
      await rm(model, { recursive: true }); // the model's own temp folder, nothing above it
    }
  });
}
