/** The slice of a pino logger the bus uses: objects first, message second. */
export type LogFn = (obj: Record<string, unknown>, msg?: string) => void

export type BusLogger = {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child(bindings: Record<string, unknown>): BusLogger
}

const noop: LogFn = () => {}

export const silentLogger: BusLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
}
