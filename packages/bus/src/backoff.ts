/**
 * Resolves after `ms`, or as soon as `signal` aborts. It never rejects: a loop that was stopped wakes and
 * checks its own signal. The one sleep of the services (relays, consumers, retries).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Exponential backoff: `baseMs` for the first retry, doubling up to `maxMs`. */
export type Backoff = { baseMs: number; maxMs: number }

/**
 * The pause before retry `attempt` (0 for the first): exponential, capped, with equal jitter (half of it
 * fixed, half random) so instances that failed together do not all retry in the same millisecond.
 */
export function backoffDelay(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30))
  return ceiling / 2 + (random() * ceiling) / 2
}

/** Waits the backoff pause of `attempt`; returns early when `signal` aborts. */
export function backoff(attempt: number, b: Backoff, signal?: AbortSignal): Promise<void> {
  return sleep(backoffDelay(attempt, b), signal)
}
