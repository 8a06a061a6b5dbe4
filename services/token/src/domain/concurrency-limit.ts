export type ConcurrencyLimits = { concurrency: number; queue: number }

/**
 * At most `concurrency` tasks run at once and at most `queue` more wait their turn; a task beyond that is
 * refused at once (`run` rejects with `onFull()`), so a burst costs bounded memory and bounded waiting
 * instead of an ever-growing pile of work nobody will wait for.
 */
export class ConcurrencyLimit {
  #limits: ConcurrencyLimits
  #active = 0
  #waiting: (() => void)[] = []

  constructor(limits: ConcurrencyLimits) {
    this.#limits = { ...limits }
  }

  configure(limits: ConcurrencyLimits): void {
    this.#limits = { ...limits }
    while (this.#active < this.#limits.concurrency && this.#waiting.length > 0) {
      this.#active++
      this.#waiting.shift()!()
    }
  }

  get active(): number {
    return this.#active
  }

  get queued(): number {
    return this.#waiting.length
  }

  async run<T>(task: () => Promise<T>, onFull: () => Error): Promise<T> {
    if (this.#active < this.#limits.concurrency) this.#active++
    else if (this.#waiting.length < this.#limits.queue) {
      // The slot is handed over by the task that finishes (see below): `#active` already counts us.
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else throw onFull()
    try {
      return await task()
    } finally {
      const next = this.#active <= this.#limits.concurrency ? this.#waiting.shift() : undefined
      if (next) next()
      else this.#active--
    }
  }
}
