/**
 * Small dense float64 linear algebra on row-major arrays, used for orthogonal
 * initialisation and as the independent reference in tests. Not for hot paths.
 */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array; // row-major [rows, cols]
}

export function mat(rows: number, cols: number, data?: ArrayLike<number>): Mat {
  const d = new Float64Array(rows * cols);
  if (data) {
    if (data.length !== rows * cols) {
      throw new Error(`Expected ${rows * cols} values, got ${data.length}`);
    }
    d.set(data);
  }
  return { rows, cols, data: d };
}

export function identity(n: number): Mat {
  const m = mat(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

export function transpose(a: Mat): Mat {
  const t = mat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j]!;
  }
  return t;
}

export function matmul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) {
    throw new Error(`Cannot multiply [${a.rows},${a.cols}] by [${b.rows},${b.cols}]`);
  }
  const c = mat(a.rows, b.cols);
  const n = b.cols;
  for (let i = 0; i < a.rows; i++) {
    const ci = i * n;
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) c.data[ci + j]! += aik * b.data[bk + j]!;
    }
  }
  return c;
}

export function add(a: Mat, b: Mat, scaleB = 1): Mat {
  const c = mat(a.rows, a.cols);
  for (let i = 0; i < c.data.length; i++) c.data[i] = a.data[i]! + scaleB * b.data[i]!;
  return c;
}

export function scale(a: Mat, s: number): Mat {
  return { rows: a.rows, cols: a.cols, data: a.data.map((v) => v * s) };
}

/** Largest absolute entry. */
export function maxAbs(a: Mat): number {
  let m = 0;
  for (const v of a.data) m = Math.max(m, Math.abs(v));
  return m;
}

/** max |WᵀW − I|: how far a square matrix is from orthogonal. */
export function orthogonalityError(w: Mat): number {
  return maxAbs(add(matmul(transpose(w), w), identity(w.cols), -1));
}

/**
 * Householder QR of a square matrix: returns Q and the signs of R's diagonal.
 * Q·diag(sign(R_ii)) is Haar-distributed when the input is Gaussian (Mezzadri 2007).
 */
export function qr(a: Mat): { q: Mat; rDiagSign: number[] } {
  const n = a.rows;
  if (a.cols !== n) throw new Error("qr expects a square matrix");
  const r = mat(n, n, a.data);
  const q = identity(n);
  const v = new Float64Array(n);
  for (let k = 0; k < n - 1; k++) {
    let norm = 0;
    for (let i = k; i < n; i++) norm += r.data[i * n + k]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const x0 = r.data[k * n + k]!;
    const alpha = x0 > 0 ? -norm : norm;
    v.fill(0);
    for (let i = k; i < n; i++) v[i] = r.data[i * n + k]!;
    v[k] = x0 - alpha;
    let vnorm2 = 0;
    for (let i = k; i < n; i++) vnorm2 += v[i]! ** 2;
    if (vnorm2 === 0) continue;
    // R ← (I − 2vvᵀ/vᵀv) R
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let i = k; i < n; i++) dot += v[i]! * r.data[i * n + j]!;
      const f = (2 * dot) / vnorm2;
      for (let i = k; i < n; i++) r.data[i * n + j]! -= f * v[i]!;
    }
    // Q ← Q (I − 2vvᵀ/vᵀv)
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = k; j < n; j++) dot += q.data[i * n + j]! * v[j]!;
      const f = (2 * dot) / vnorm2;
      for (let j = k; j < n; j++) q.data[i * n + j]! -= f * v[j]!;
    }
  }
  const rDiagSign = Array.from({ length: n }, (_, i) => (r.data[i * n + i]! < 0 ? -1 : 1));
  return { q, rDiagSign };
}

/** Maximum absolute column sum (the matrix 1-norm). */
export function norm1(a: Mat): number {
  let best = 0;
  for (let j = 0; j < a.cols; j++) {
    let s = 0;
    for (let i = 0; i < a.rows; i++) s += Math.abs(a.data[i * a.cols + j]!);
    best = Math.max(best, s);
  }
  return best;
}

/**
 * exp(A) in float64 by scaling and squaring with a degree-24 Taylor polynomial, the
 * reference that the float32 expm is tested against. ‖A/2^s‖₁ ≤ 1/4 makes the truncation
 * error below 1e-30 relative.
 */
export function expmReference(a: Mat): Mat {
  const s = Math.max(0, Math.ceil(Math.log2(norm1(a) / 0.25)));
  const x = scale(a, 1 / 2 ** s);
  let term = identity(a.rows);
  let sum = identity(a.rows);
  for (let k = 1; k <= 24; k++) {
    term = scale(matmul(term, x), 1 / k);
    sum = add(sum, term);
  }
  for (let i = 0; i < s; i++) sum = matmul(sum, sum);
  return sum;
}
