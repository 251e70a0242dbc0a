/**
 * How long to wait before the next retry of a failed write.
 *
 * @param attempt how many attempts of this batch have failed so far, minus one (0 after the first failure)
 * @param previousMs the delay chosen before this one (0 the first time)
 * @returns milliseconds to wait
 */
export type Backoff = (attempt: number, previousMs: number) => number

export interface BackoffOptions {
  /** The first delay (full jitter: its ceiling; decorrelated: its floor). */
  baseMs: number
  /** No delay is longer. */
  maxMs: number
  /** A uniform random number in [0, 1) (default Math.random); tests pass their own. */
  random?: () => number
}

/** base · 2^attempt, capped at max, without overflowing for large attempts. */
function ceiling(baseMs: number, maxMs: number, attempt: number): number {
  return attempt >= 31 ? maxMs : Math.min(maxMs, baseMs * 2 ** attempt)
}

/**
 * Exponential backoff with full jitter: a uniform delay in
 * [0, min(max, base · 2^attempt)], so that many writers that failed together
 * (a database restart) do not come back together. The default.
 *
 * @example
 * new BatchQueue({ ..., backoff: fullJitter({ baseMs: 200, maxMs: 30_000 }) })
 */
export function fullJitter({ baseMs, maxMs, random = Math.random }: BackoffOptions): Backoff {
  return (attempt) => Math.floor(random() * (ceiling(baseMs, maxMs, attempt) + 1))
}

/**
 * Decorrelated jitter: a uniform delay in [base, min(max, 3 · previous)];
 * it grows like an exponential but each delay depends on the last one, not
 * on the attempt count.
 *
 * @example
 * new BatchQueue({ ..., backoff: decorrelatedJitter({ baseMs: 200, maxMs: 30_000 }) })
 */
export function decorrelatedJitter({ baseMs, maxMs, random = Math.random }: BackoffOptions): Backoff {
  return (_attempt, previousMs) => {
    const high = Math.min(maxMs, Math.max(baseMs, previousMs * 3))
    return Math.min(maxMs, Math.floor(baseMs + random() * (high - baseMs + 1)))
  }
}

/**
 * Plain exponential backoff, base · 2^attempt capped at max, no jitter:
 * predictable, for a single writer or a test.
 *
 * @example
 * new BatchQueue({ ..., backoff: exponential({ baseMs: 100, maxMs: 10_000 }) })
 */
export function exponential({ baseMs, maxMs }: Omit<BackoffOptions, 'random'>): Backoff {
  return (attempt) => ceiling(baseMs, maxMs, attempt)
}

