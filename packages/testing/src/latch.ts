/** A promise with its resolve function outside: a latch instead of a sleep. */
export function latch<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/**
 * A latch on a count: `add` what a callback saw; `reached(n)` resolves once n items were added (at once if
 * they already were) and fails after `timeoutMs`, naming what it waited for. For "n entries handled" where
 * the code calls back, instead of polling a length.
 */
export function tally<T>(what: string, timeoutMs = 5000) {
  const items: T[] = []
  const waiting = new Set<() => void>()
  return {
    items,
    add(...added: T[]) {
      items.push(...added)
      for (const check of waiting) check()
    },
    reached(n: number): Promise<T[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (items.length < n) return
          waiting.delete(check)
          clearTimeout(timer)
          resolve(items)
        }
        const timer = setTimeout(() => {
          waiting.delete(check)
          reject(new Error(`${n} ${what} not reached within ${timeoutMs} ms (${items.length})`))
        }, timeoutMs)
        waiting.add(check)
        check()
      })
    },
  }
}
