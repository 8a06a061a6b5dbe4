/**
 * Log lines as they are written (an app's `logStream`, a child process's output), with a latch on them:
 * `seen(match, what)` resolves with the matching lines once `n` of them (from index `from` on) were
 * written, checked on every write, and fails after `timeoutMs` naming `what`.
 */
export class LogLines {
  readonly all: string[] = []
  readonly #waiting = new Set<() => void>()

  /** Pass as `logStream: { write }`; also takes several lines at once. */
  readonly write = (...lines: string[]): void => {
    this.all.push(...lines)
    for (const check of this.#waiting) check()
  }

  seen(
    match: (line: string) => boolean,
    what: string,
    { n = 1, from = 0, timeoutMs = 10_000 }: { n?: number; from?: number; timeoutMs?: number } = {},
  ): Promise<string[]> {
    const matching = () => this.all.slice(from).filter(match)
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = matching()
        if (found.length < n) return
        this.#waiting.delete(check)
        clearTimeout(timer)
        resolve(found)
      }
      const timer = setTimeout(() => {
        this.#waiting.delete(check)
        reject(new Error(`timed out waiting for ${what} (${matching().length} of ${n} lines)`))
      }, timeoutMs)
      this.#waiting.add(check)
      check()
    })
  }
}
