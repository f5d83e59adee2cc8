/**
 * WGSL for the recurrence kernels on webgpu: one dispatch per time step, each thread one
 * (row b, unit j) of the batch, fusing that step's recurrent product (a dot product of h_{t−1}
 * with U's columns j of every gate) with the gate math. The backward shader does the same in
 * reverse: a thread takes ∂(h_t·U)'s row b times Uᵀ's column j, adds ∂h_t from the layers
 * above, and writes its step's gradients; a last dispatch (t = −1) forms ∂h of the initial state.
 *
 * Sizes are compiled in (they and the cell make the shader key); the step t is a uniform.
 * `result` (the output) holds h_{t−1} in the forward pass and ∂(h_t·U) in the backward pass,
 * read by the next dispatch: storage writes of one dispatch are visible to the next.
 */
import type { Activation } from "../activations.ts";
import { type Dims, forwardLayout, gradLayout, type RecurrenceAttrs } from "./spec.ts";

const HELPERS = `
fn rr_sigmoid(x : f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
// tanh saturates to ±1 in float32 beyond ±10; clamping keeps exp out of overflow.
fn rr_tanh(x : f32) -> f32 { return tanh(clamp(x, -15.0, 15.0)); }
`;

const lit = (x: number) => `f32(${x})`;

/** |z| + ε² under the root, as shared/cells/complex.ts computes the modulus. */
const COMPLEX_EPS = 1e-8;

/**
 * Phony reads of every input: a binding the entry point never touches drops out of the
 * pipeline's automatic layout, and binding it anyway fails validation.
 */
const touch = (names: string[]) => names.map((n) => `_ = ${n}[0];`).join(" ");

function activation(kind: Activation, slope: number): string {
  switch (kind) {
    case "tanh":
      return "rr_tanh(z)";
    case "relu":
      return "max(z, 0.0)";
    case "abs":
      return "abs(z)";
    case "leaky_relu":
      return `select(z, ${lit(slope)} * z, z < 0.0)`;
    case "linear":
      return "z";
    case "modrelu":
      return "sign(z) * max(0.0, abs(z) + v[j])";
  }
}

/** dσ/dz · dh as `dz`, and modReLU's ∂b_mod as `db` (0 elsewhere); h_t is ys[out]. */
function activationBack(kind: Activation, slope: number): string {
  switch (kind) {
    case "tanh":
      return "let h = ys[out]; let dz = dh * (1.0 - h * h); let db = 0.0;";
    case "relu":
      return "let dz = select(0.0, dh, z > 0.0); let db = 0.0;";
    case "abs":
      return "let dz = select(-dh, dh, z > 0.0); let db = 0.0;";
    case "leaky_relu":
      return `let dz = select(dh * ${lit(slope)}, dh, z > 0.0); let db = 0.0;`;
    case "linear":
      return "let dz = dh; let db = 0.0;";
    case "modrelu":
      // h = sign(z)·relu(|z| + b): tfjs gives sign no gradient and |z| the slope ±1.
      return `let db = select(0.0, dh * sign(z), abs(z) + v[j] > 0.0);
        let dz = db * select(-1.0, 1.0, z > 0.0);`;
  }
}

/** The shader key: everything compiled into the code. */
export const shaderKey = (pass: string, a: RecurrenceAttrs, d: Dims) =>
  `rotorRecurrence_${pass}_${a.family}_${a.activation}_${a.slope}_${d.T}_${d.B}_${d.H}`;

/**
 * Forward step t: inputs xw [T,B,G], u [H,G], s0 [S,B,H], v [H]; result y, spec.ts's
 * ForwardLayout (h, the LSTM's c, and the products h_{t−1}·U the backward pass reads).
 */
export function forwardShader(a: RecurrenceAttrs, d: Dims): string {
  if (a.family === "cgru") return complexGruForwardShader(d);
  const { B, H, G } = d, BH = B * H;
  const F = forwardLayout(d), TBH = F.c;
  const gates = G / H;
  const acc = Array.from({ length: gates }, (_, g) => `var a${g} = 0.0;`).join(" ");
  const madd = (src: string) =>
    Array.from({ length: gates }, (_, g) => `a${g} += ${src} * u[k * ${G} + ${g * H} + j];`)
      .join(" ");
  // Complex modReLU reads its unit's other half too (column p of U, Re ↔ Im): a thread forms
  // that product as well, twice the multiply-adds of the rnn's step.
  const cmod = a.family === "crnn" && a.activation === "modrelu", K = Math.floor(H / 2);
  const partner = cmod ? (src: string) => `ap += ${src} * u[k * ${G} + p];` : () => "";
  let body: string;
  if (cmod) {
    body = `let z = xw[x] + a0;
      let zp = xw[x - j + p] + ap;
      let m = sqrt(z * z + zp * zp + ${lit(COMPLEX_EPS)});
      let tt = m + v[j % ${K}];
      result[out] = z * select(0.0, tt / m, tt > 0.0);`;
  } else if (a.family === "rnn" || a.family === "crnn") {
    body = `let z = xw[x] + a0; result[out] = ${activation(a.activation, a.slope)};`;
  } else if (a.family === "gru") {
    body = `let r = rr_sigmoid(xw[x] + a0);
      let z = rr_sigmoid(xw[x + ${H}] + a1);
      let n = rr_tanh(xw[x + ${2 * H}] + r * (a2 + v[j]));
      var hp = 0.0;
      if (t == 0) { hp = s0[index]; } else { hp = result[out - ${BH}]; }
      result[out] = (1.0 - z) * n + z * hp;`;
  } else {
    body = `let i = rr_sigmoid(xw[x] + a0);
      let f = rr_sigmoid(xw[x + ${H}] + a1);
      let g = rr_tanh(xw[x + ${2 * H}] + a2);
      let o = rr_sigmoid(xw[x + ${3 * H}] + a3);
      var cp = 0.0;
      if (t == 0) { cp = s0[${BH} + index]; } else { cp = result[${TBH} + out - ${BH}]; }
      let c = f * cp + i * g;
      result[${TBH} + out] = c;
      result[out] = o * rr_tanh(c);`;
  }
  return `${HELPERS}
    fn main(index : i32) {
      ${touch(["xw", "u", "s0", "v"])}
      if (index >= ${BH}) { return; }
      let b = index / ${H};
      let j = index - b * ${H};
      let t = uniforms.t;
      let p = (j + ${K}) % ${H};
      ${acc}
      var ap = 0.0;
      if (t == 0) {
        for (var k = 0; k < ${H}; k++) { let hp = s0[b * ${H} + k]; ${madd("hp")} ${partner("hp")} }
      } else {
        let base = ((t - 1) * ${B} + b) * ${H};
        for (var k = 0; k < ${H}; k++) { let hp = result[base + k]; ${madd("hp")} ${partner("hp")} }
      }
      let x = (t * ${B} + b) * ${G} + j;
      let out = t * ${BH} + index;
      ${Array.from({ length: gates }, (_, g) => `result[${F.hu + g * H} + x] = a${g};`).join(" ")}
      ${body}
    }`;
}

/**
 * Backward step t (T−1 down to 0, then −1): inputs xw [T,B,G], ut [G,H], s0 [S,B,H], ys and
 * dys (ForwardLayout), v [H]; result the flat gradients of spec.ts's GradLayout, whose ∂state
 * block carries the part of ∂h_{t−1} (and ∂c_{t−1}) that skips U from one dispatch to the next.
 */
export function backwardShader(a: RecurrenceAttrs, d: Dims): string {
  if (a.family === "cgru") return complexGruBackwardShader(d);
  const { B, H, G, T } = d, BH = B * H;
  const F = forwardLayout(d), TBH = F.c;
  const L = gradLayout(a.family, d);
  const hu = (k: number) => `ys[${F.hu + k * H} + x]`;
  const cmod = a.family === "crnn" && a.activation === "modrelu", K = Math.floor(H / 2);
  let body: string;
  if (cmod) {
    // The partner's ∂h (its own row of the upstream gradient and of ∂(h_{t+1}·U)·Uᵀ).
    body = `let xp = x - j + p;
      let z = xw[x] + ${hu(0)};
      let zp = xw[xp] + ys[${F.hu} + xp];
      var dhp = dys[t * ${BH} + b * ${H} + p];
      if (t < ${T - 1}) {
        let base = ${L.dhu} + ((t + 1) * ${B} + b) * ${G};
        for (var k = 0; k < ${G}; k++) { dhp += result[base + k] * ut[k * ${H} + p]; }
      }
      let m = sqrt(z * z + zp * zp + ${lit(COMPLEX_EPS)});
      let tt = m + v[j % ${K}];
      let on = tt > 0.0;
      let s = select(0.0, tt / m, on);
      let q = (dh * z + dhp * zp) / m;
      let ds = (select(0.0, m, on) - select(0.0, tt, on)) / (m * m);
      result[${L.dxw} + x] = dh * s + z * q * ds;
      result[${L.dstate} + index] = 0.0;
      let db = select(0.0, select(0.0, q, on), j < ${K});`;
  } else if (a.family === "rnn" || a.family === "crnn") {
    body = `let z = xw[x] + ${hu(0)};
      ${activationBack(a.activation, a.slope)}
      result[${L.dxw} + x] = dz;
      result[${L.dstate} + index] = 0.0;`;
  } else if (a.family === "gru") {
    body = `let r = rr_sigmoid(xw[x] + ${hu(0)});
      let z = rr_sigmoid(xw[x + ${H}] + ${hu(1)});
      let hn = ${hu(2)} + v[j];
      let n = rr_tanh(xw[x + ${2 * H}] + r * hn);
      var hp = 0.0;
      if (t == 0) { hp = s0[index]; } else { hp = ys[out - ${BH}]; }
      let dan = dh * (1.0 - z) * (1.0 - n * n);
      let dar = dan * hn * r * (1.0 - r);
      let daz = dh * (hp - n) * z * (1.0 - z);
      result[${L.dxw} + x] = dar;
      result[${L.dxw} + x + ${H}] = daz;
      result[${L.dxw} + x + ${2 * H}] = dan;
      result[${L.dhu} + x] = dar;
      result[${L.dhu} + x + ${H}] = daz;
      result[${L.dhu} + x + ${2 * H}] = dan * r;
      result[${L.dstate} + index] = dh * z;
      let db = dan * r;`;
  } else {
    body = `var dc = dys[${TBH} + out];
      if (t < ${T - 1}) { dc += result[${L.dstate + BH} + index]; }
      let i = rr_sigmoid(xw[x] + ${hu(0)});
      let f = rr_sigmoid(xw[x + ${H}] + ${hu(1)});
      let g = rr_tanh(xw[x + ${2 * H}] + ${hu(2)});
      let o = rr_sigmoid(xw[x + ${3 * H}] + ${hu(3)});
      var cp = 0.0;
      if (t == 0) { cp = s0[${BH} + index]; } else { cp = ys[${TBH} + out - ${BH}]; }
      let tc = rr_tanh(ys[${TBH} + out]);
      dc += dh * o * (1.0 - tc * tc);
      result[${L.dxw} + x] = dc * g * i * (1.0 - i);
      result[${L.dxw} + x + ${H}] = dc * cp * f * (1.0 - f);
      result[${L.dxw} + x + ${2 * H}] = dc * i * (1.0 - g * g);
      result[${L.dxw} + x + ${3 * H}] = dh * tc * o * (1.0 - o);
      result[${L.dstate + BH} + index] = dc * f;
      result[${L.dstate} + index] = 0.0;
      let db = 0.0;`;
  }
  return `${HELPERS}
    fn main(index : i32) {
      ${touch(["xw", "ut", "s0", "ys", "dys", "v"])}
      if (index >= ${BH}) { return; }
      let b = index / ${H};
      let j = index - b * ${H};
      let t = uniforms.t;
      var carried = 0.0;
      if (t < ${T - 1}) {
        let base = ${L.dhu} + ((t + 1) * ${B} + b) * ${G};
        for (var k = 0; k < ${G}; k++) { carried += result[base + k] * ut[k * ${H} + j]; }
        carried += result[${L.dstate} + index];
      }
      if (t < 0) { result[${L.dstate} + index] = carried; return; }
      let dh = dys[t * ${BH} + index] + carried;
      let p = (j + ${K}) % ${H};
      let x = (t * ${B} + b) * ${G} + j;
      let out = t * ${BH} + index;
      ${body}
      if (t == ${T - 1}) { result[${L.dv} + index] = db; } else { result[${L.dv} + index] += db; }
    }`;
}

/*
 * The cuGRU (shared/cells/cugru.ts) over K = H/2 complex units: xw and h·U [B, 4K] in blocks
 * r | z | n_re | n_im, v = c_n [Re | Im]. A unit's Re and Im columns depend on each other (the
 * gates r, z and the modulus of the candidate), so here a thread takes a whole unit (b, k):
 * threads k ≥ K of the B·H dispatched return at once. A thread then reads and writes only its
 * own unit's columns, also of the ∂state block carried from one dispatch to the next.
 */

/** Forward step t of the cuGRU (inputs and result as forwardShader's). */
function complexGruForwardShader(d: Dims): string {
  const { B, H, G } = d, BH = B * H, K = H / 2;
  const F = forwardLayout(d);
  const col = (g: number) => `u[k2 * ${G} + ${g * K} + k]`;
  return `${HELPERS}
    fn main(index : i32) {
      ${touch(["xw", "u", "s0", "v"])}
      if (index >= ${BH}) { return; }
      let b = index / ${H};
      let k = index - b * ${H};
      if (k >= ${K}) { return; }
      let t = uniforms.t;
      var ar = 0.0; var az = 0.0; var anr = 0.0; var ani = 0.0;
      var base = b * ${H};
      if (t > 0) { base = ((t - 1) * ${B} + b) * ${H}; }
      for (var k2 = 0; k2 < ${H}; k2++) {
        var hp = 0.0;
        if (t == 0) { hp = s0[base + k2]; } else { hp = result[base + k2]; }
        ar += hp * ${col(0)}; az += hp * ${col(1)}; anr += hp * ${col(2)}; ani += hp * ${col(3)};
      }
      let x = (t * ${B} + b) * ${G} + k;
      result[${F.hu} + x] = ar;
      result[${F.hu} + x + ${K}] = az;
      result[${F.hu} + x + ${2 * K}] = anr;
      result[${F.hu} + x + ${3 * K}] = ani;
      let r = rr_sigmoid(xw[x] + ar);
      let z = rr_sigmoid(xw[x + ${K}] + az);
      let vr = xw[x + ${2 * K}] + r * (anr + v[k]);
      let vi = xw[x + ${3 * K}] + r * (ani + v[k + ${K}]);
      let m = sqrt(vr * vr + vi * vi + ${lit(COMPLEX_EPS)});
      let s = rr_tanh(m) / m;
      var pr = 0.0; var pi = 0.0;
      if (t == 0) { pr = s0[b * ${H} + k]; pi = s0[b * ${H} + k + ${K}]; }
      else { pr = result[base + k]; pi = result[base + k + ${K}]; }
      let out = t * ${BH} + b * ${H} + k;
      result[out] = (1.0 - z) * vr * s + z * pr;
      result[out + ${K}] = (1.0 - z) * vi * s + z * pi;
    }`;
}

/** Backward step t of the cuGRU (T−1 down to 0, then −1; inputs and result as backwardShader's). */
function complexGruBackwardShader(d: Dims): string {
  const { B, H, G, T } = d, BH = B * H, K = H / 2;
  const F = forwardLayout(d), L = gradLayout("cgru", d);
  return `${HELPERS}
    fn main(index : i32) {
      ${touch(["xw", "ut", "s0", "ys", "dys", "v"])}
      if (index >= ${BH}) { return; }
      let b = index / ${H};
      let k = index - b * ${H};
      if (k >= ${K}) { return; }
      let t = uniforms.t;
      let own = b * ${H} + k;
      // ∂h of this unit's Re and Im from the step after: ∂(h_t·U)·Uᵀ and the part that skips U.
      var cr = 0.0; var ci = 0.0;
      if (t < ${T - 1}) {
        let base = ${L.dhu} + ((t + 1) * ${B} + b) * ${G};
        for (var g = 0; g < ${G}; g++) {
          let dg = result[base + g];
          cr += dg * ut[g * ${H} + k];
          ci += dg * ut[g * ${H} + k + ${K}];
        }
        cr += result[${L.dstate} + own];
        ci += result[${L.dstate} + own + ${K}];
      }
      if (t < 0) {
        result[${L.dstate} + own] = cr;
        result[${L.dstate} + own + ${K}] = ci;
        return;
      }
      let dhr = dys[t * ${BH} + own] + cr;
      let dhi = dys[t * ${BH} + own + ${K}] + ci;
      let x = (t * ${B} + b) * ${G} + k;
      let r = rr_sigmoid(xw[x] + ys[${F.hu} + x]);
      let z = rr_sigmoid(xw[x + ${K}] + ys[${F.hu} + x + ${K}]);
      let hnr = ys[${F.hu} + x + ${2 * K}] + v[k];
      let hni = ys[${F.hu} + x + ${3 * K}] + v[k + ${K}];
      let vr = xw[x + ${2 * K}] + r * hnr;
      let vi = xw[x + ${3 * K}] + r * hni;
      let m = sqrt(vr * vr + vi * vi + ${lit(COMPLEX_EPS)});
      let th = rr_tanh(m);
      let s = th / m;
      var pr = 0.0; var pi = 0.0;
      if (t == 0) { pr = s0[own]; pi = s0[own + ${K}]; }
      else { pr = ys[(t - 1) * ${BH} + own]; pi = ys[(t - 1) * ${BH} + own + ${K}]; }
      let daz = (dhr * (pr - vr * s) + dhi * (pi - vi * s)) * z * (1.0 - z);
      let dnr = dhr * (1.0 - z);
      let dni = dhi * (1.0 - z);
      let q = (dnr * vr + dni * vi) / m;
      let ds = (m * (1.0 - th * th) - th) / (m * m);
      let dvr = dnr * s + vr * q * ds;
      let dvi = dni * s + vi * q * ds;
      let dar = (dvr * hnr + dvi * hni) * r * (1.0 - r);
      result[${L.dxw} + x] = dar;
      result[${L.dxw} + x + ${K}] = daz;
      result[${L.dxw} + x + ${2 * K}] = dvr;
      result[${L.dxw} + x + ${3 * K}] = dvi;
      result[${L.dhu} + x] = dar;
      result[${L.dhu} + x + ${K}] = daz;
      result[${L.dhu} + x + ${2 * K}] = dvr * r;
      result[${L.dhu} + x + ${3 * K}] = dvi * r;
      result[${L.dstate} + own] = dhr * z;
      result[${L.dstate} + own + ${K}] = dhi * z;
      if (t == ${T - 1}) {
        result[${L.dv} + own] = dvr * r;
        result[${L.dv} + own + ${K}] = dvi * r;
      } else {
        result[${L.dv} + own] += dvr * r;
        result[${L.dv} + own + ${K}] += dvi * r;
      }
    }`;
}
