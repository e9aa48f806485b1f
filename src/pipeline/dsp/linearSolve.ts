/**
 * Dense linear systems A·X = B in float64, row-major: Cholesky for symmetric positive definite A (BSS Eval's Gram
 * matrix), LU with partial pivoting (numpy.linalg.solve's method) otherwise.
 */

/**
 * Solves A·X = B for symmetric A (n × n, row-major, made by `build`) and B (n × m, row-major). Cholesky, which
 * halves the work of numpy's LU; where A is not numerically positive definite (e.g. a reference whose two channels
 * are identical makes G singular), LU with partial pivoting like numpy.linalg.solve; `singular` is the message
 * when even that finds no pivot.
 */
export function solveSymmetric(
  build: () => Float64Array,
  n: number,
  rhs: Float64Array,
  m: number,
  singular = 'singular matrix',
): Float64Array {
  const a = build();
  if (choleskyInPlace(a, n)) {
    const x = rhs.slice();
    // L·y = b, then Lᵀ·x = y
    for (let i = 0; i < n; i++) {
      const row = i * n;
      for (let k = 0; k < i; k++) {
        const l = a[row + k];
        if (l !== 0) for (let c = 0; c < m; c++) x[i * m + c] -= l * x[k * m + c];
      }
      for (let c = 0; c < m; c++) x[i * m + c] /= a[row + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      const d = a[i * n + i];
      for (let c = 0; c < m; c++) x[i * m + c] /= d;
      for (let k = 0; k < i; k++) {
        const l = a[i * n + k];
        if (l !== 0) for (let c = 0; c < m; c++) x[k * m + c] -= l * x[i * m + c];
      }
    }
    return x;
  }
  return luSolve(build(), n, rhs.slice(), m, singular);
}

/**
 * Lower Cholesky factor in the lower triangle of `a`; false on a non-positive pivot. Row-oriented (each entry a dot
 * product of two row prefixes), four rows against two earlier rows at a time: G (33 MB for two stereo targets) is
 * far larger than the caches, and this reads each earlier row once per four rows instead of once per row.
 */
function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let i0 = 0; i0 < n; i0 += 4) {
    const rows = Math.min(4, n - i0);
    let j = 0;
    if (rows === 4) {
      const r0 = i0 * n;
      const r1 = r0 + n;
      const r2 = r1 + n;
      const r3 = r2 + n;
      for (; j + 1 < i0; j += 2) {
        const ra = j * n;
        const rb = ra + n;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let b0 = 0;
        let b1 = 0;
        let b2 = 0;
        let b3 = 0;
        for (let k = 0; k < j; k++) {
          const va = a[ra + k];
          const vb = a[rb + k];
          const x0 = a[r0 + k];
          const x1 = a[r1 + k];
          const x2 = a[r2 + k];
          const x3 = a[r3 + k];
          a0 += x0 * va;
          a1 += x1 * va;
          a2 += x2 * va;
          a3 += x3 * va;
          b0 += x0 * vb;
          b1 += x1 * vb;
          b2 += x2 * vb;
          b3 += x3 * vb;
        }
        // column j, then column j + 1, whose sums also take the k = j term just found
        const da = a[ra + j];
        const y0 = (a[r0 + j] - a0) / da;
        const y1 = (a[r1 + j] - a1) / da;
        const y2 = (a[r2 + j] - a2) / da;
        const y3 = (a[r3 + j] - a3) / da;
        a[r0 + j] = y0;
        a[r1 + j] = y1;
        a[r2 + j] = y2;
        a[r3 + j] = y3;
        const lb = a[rb + j];
        const db = a[rb + j + 1];
        a[r0 + j + 1] = (a[r0 + j + 1] - (b0 + y0 * lb)) / db;
        a[r1 + j + 1] = (a[r1 + j + 1] - (b1 + y1 * lb)) / db;
        a[r2 + j + 1] = (a[r2 + j + 1] - (b2 + y2 * lb)) / db;
        a[r3 + j + 1] = (a[r3 + j + 1] - (b3 + y3 * lb)) / db;
      }
    }
    // what is left of the columns before the block, one row at a time
    for (; j < i0; j++) {
      const rj = j * n;
      for (let i = i0; i < i0 + rows; i++) {
        const ri = i * n;
        let s = 0;
        for (let k = 0; k < j; k++) s += a[ri + k] * a[rj + k];
        a[ri + j] = (a[ri + j] - s) / a[rj + j];
      }
    }
    // the triangle inside the block
    for (let i = i0; i < i0 + rows; i++) {
      const ri = i * n;
      for (let jj = i0; jj <= i; jj++) {
        const rj = jj * n;
        let s = 0;
        for (let k = 0; k < jj; k++) s += a[ri + k] * a[rj + k];
        const v = a[ri + jj] - s;
        if (i === jj) {
          if (!(v > 0)) return false;
          a[ri + i] = Math.sqrt(v);
        } else {
          a[ri + jj] = v / a[rj + jj];
        }
      }
    }
  }
  return true;
}

/**
 * Gaussian elimination with partial pivoting (LAPACK gesv's method), in place; returns X in `b`. A zero pivot
 * (a singular A) throws a RangeError with `singular` as its message.
 */
export function luSolve(
  a: Float64Array,
  n: number,
  b: Float64Array,
  m: number,
  singular = 'singular matrix',
): Float64Array {
  const swapRows = (x: Float64Array, width: number, i: number, j: number): void => {
    for (let c = 0; c < width; c++) {
      const t = x[i * width + c];
      x[i * width + c] = x[j * width + c];
      x[j * width + c] = t;
    }
  };
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]) > Math.abs(a[pivot * n + k])) pivot = i;
    if (a[pivot * n + k] === 0) throw new RangeError(singular);
    if (pivot !== k) {
      swapRows(a, n, pivot, k);
      swapRows(b, m, pivot, k);
    }
    const rowK = k * n;
    const d = a[rowK + k];
    for (let i = k + 1; i < n; i++) {
      const rowI = i * n;
      const l = a[rowI + k] / d;
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) a[rowI + j] -= l * a[rowK + j];
      for (let c = 0; c < m; c++) b[i * m + c] -= l * b[k * m + c];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    const rowI = i * n;
    for (let c = 0; c < m; c++) {
      let s = b[i * m + c];
      for (let j = i + 1; j < n; j++) s -= a[rowI + j] * b[j * m + c];
      b[i * m + c] = s / a[rowI + i];
    }
  }
  return b;
}
