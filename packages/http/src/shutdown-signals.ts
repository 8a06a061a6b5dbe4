type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }

/**
 * How a service process ends on SIGTERM or SIGINT: logs `shutting down`, runs `close`, exits 0, or 1 when
 * `close` has not finished within `deadlineMs`. The same signal again during the shutdown (Ctrl-C twice,
 * a second SIGTERM) logs a warning and exits 1 at once; the other one is ignored, because `pnpm start`
 * passes SIGTERM on to children the terminal has just sent SIGINT (one Ctrl-C must still drain). The listener stays (`process.on`, not `once`): without one, the second signal would take
 * its default action and kill the process with the buffered log unwritten; `process.exit` writes it.
 * Returns `begin`, for a shutdown the process starts itself (a failed listen): a signal after it exits 1.
 */
export function shutdownOnSignals(opts: {
  log: Log
  /** Bound to both lines (the analytics process names its role). */
  bindings?: Record<string, unknown>
  deadlineMs: number
  close: () => Promise<unknown>
}): { begin(): void } {
  // What began the shutdown: a signal, or the process itself (`begin`), after which any signal exits.
  let closing: 'SIGTERM' | 'SIGINT' | 'self' | undefined
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, async () => {
      if (closing === signal || closing === 'self') {
        opts.log.warn({ signal, ...opts.bindings }, 'signal during shutdown: exiting now')
        process.exit(1)
      }
      if (closing) return
      closing = signal
      opts.log.info({ signal, ...opts.bindings }, 'shutting down')
      setTimeout(() => process.exit(1), opts.deadlineMs)
      await opts.close()
      process.exit(0)
    })
  }
  return {
    begin() {
      closing = 'self'
    },
  }
}
