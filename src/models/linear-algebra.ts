/** Small dense linear algebra for the closed-form models: Gram matrices and Cholesky solves. */
import { AirlakeError } from '../core/errors.js'

/** XᵀX (d × d, row-major) of a row-major n × d matrix, plus `ridge` on the diagonal. */
export function gram(x: Float64Array, n: number, d: number, ridge = 0, weights?: Float64Array): Float64Array {
  const g = new Float64Array(d * d)
  for (let i = 0; i < n; i++) {
    const o = i * d
    const w = weights === undefined ? 1 : weights[i]!
    for (let a = 0; a < d; a++) {
      const xa = x[o + a]! * w
      if (xa === 0) continue
      const row = a * d
      for (let b = a; b < d; b++) g[row + b]! += xa * x[o + b]!
    }
  }
  for (let a = 0; a < d; a++) {
    g[a * d + a]! += ridge
    for (let b = a + 1; b < d; b++) g[b * d + a] = g[a * d + b]!
  }
  return g
}

/** XᵀY (d × k) of row-major n × d and n × k matrices. */
export function crossProduct(
  x: Float64Array,
  y: Float64Array,
  n: number,
  d: number,
  k: number,
): Float64Array {
  const out = new Float64Array(d * k)
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const xa = x[i * d + a]!
      if (xa === 0) continue
      for (let c = 0; c < k; c++) out[a * k + c]! += xa * y[i * k + c]!
    }
  }
  return out
}

/**
 * Solves A W = B for symmetric positive-definite A (d × d) and B (d × k) by Cholesky factorisation.
 * Throws INTERNAL when A is not positive definite (raise the regularisation).
 */
export function choleskySolve(a: Float64Array, b: Float64Array, d: number, k: number): Float64Array {
  const l = new Float64Array(d * d)
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * d + j]!
      for (let p = 0; p < j; p++) sum -= l[i * d + p]! * l[j * d + p]!
      if (i === j) {
        if (!(sum > 0)) {
          throw new AirlakeError(
            'INTERNAL',
            'the normal equations are not positive definite; use a larger regularisation',
          )
        }
        l[i * d + i] = Math.sqrt(sum)
      } else {
        l[i * d + j] = sum / l[j * d + j]!
      }
    }
  }
  const w = Float64Array.from(b)
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < d; i++) {
      let sum = w[i * k + c]!
      for (let p = 0; p < i; p++) sum -= l[i * d + p]! * w[p * k + c]!
      w[i * k + c] = sum / l[i * d + i]!
    }
    for (let i = d - 1; i >= 0; i--) {
      let sum = w[i * k + c]!
      for (let p = i + 1; p < d; p++) sum -= l[p * d + i]! * w[p * k + c]!
      w[i * k + c] = sum / l[i * d + i]!
    }
  }
  return w
}

/** Y = X W + bias (n × k) for row-major X (n × d), W (d × k) and bias (k). */
export function multiply(
  x: Float64Array,
  w: Float64Array,
  bias: Float64Array,
  n: number,
  d: number,
  k: number,
): Float64Array {
  const out = new Float64Array(n * k)
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) out[i * k + c] = bias[c]!
    for (let a = 0; a < d; a++) {
      const xa = x[i * d + a]!
      if (xa === 0) continue
      for (let c = 0; c < k; c++) out[i * k + c]! += xa * w[a * k + c]!
    }
  }
  return out
}
