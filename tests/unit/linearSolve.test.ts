/** Dense solves against the identity they promise: A·X = B, for the Cholesky path, the LU fallback and errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { seededRandom } from '../../src/fixtures/seededRandom.js';
import { luSolve, solveSymmetric } from '../../src/pipeline/dsp/linearSolve.js';

/** max |A·X − B| over all entries; A n×n, X and B n×m, row-major. */
function residual(a: Float64Array, x: Float64Array, b: Float64Array, n: number, m: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < m; c++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * x[k * m + c];
      worst = Math.max(worst, Math.abs(s - b[i * m + c]));
    }
  }
  return worst;
}

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length: rows * cols }, () => random.normal());
}

describe('solveSymmetric', () => {
  it('solves a positive definite system (Cholesky) for several right-hand sides', () => {
    const n = 37; // not a multiple of the 4-row blocking
    const m = 3;
    const r = randomMatrix(n, n, 1);
    const a = new Float64Array(n * n); // Rᵀ·R + I: symmetric positive definite
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = i === j ? 1 : 0;
        for (let k = 0; k < n; k++) s += r[k * n + i] * r[k * n + j];
        a[i * n + j] = s;
      }
    const b = randomMatrix(n, m, 2);
    const x = solveSymmetric(() => a.slice(), n, b, m);
    assert.ok(residual(a, x, b, n, m) < 1e-9, `residual ${residual(a, x, b, n, m)}`);
  });

  it('falls back to LU for a symmetric matrix that is not positive definite', () => {
    const a = Float64Array.of(0, 2, 1, 2, 0, 3, 1, 3, -4); // indefinite: Cholesky's first pivot is 0
    const b = Float64Array.of(1, 2, 3);
    const x = solveSymmetric(() => a.slice(), 3, b, 1);
    assert.ok(residual(a, x, b, 3, 1) < 1e-12, `residual ${residual(a, x, b, 3, 1)}`);
  });
});

describe('luSolve', () => {
  it('pivots past a zero on the diagonal and leaves the solution in b', () => {
    const a = Float64Array.of(0, 1, 1, 1);
    const b = Float64Array.of(2, 5);
    const x = luSolve(a.slice(), 2, b.slice(), 1);
    assert.deepEqual([...x], [3, 2]);
  });

  it('names the problem when A is singular', () => {
    assert.throws(
      () => luSolve(Float64Array.of(1, 2, 2, 4), 2, Float64Array.of(1, 1), 1, 'the references are dependent'),
      /^RangeError: the references are dependent$/,
    );
  });
});
