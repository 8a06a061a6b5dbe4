import { createServer } from 'node:net'

/**
 * The error listening on `host:port` would raise right now (EADDRINUSE, EACCES, EADDRNOTAVAIL), or
 * undefined when it is free (port 0 always is). A process checks before it migrates, starts its relay and
 * joins consumer groups, so a second copy stops with one line instead of starting half of itself; the
 * real listen still handles the port being taken in between.
 */
export function listenProblem(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  if (port === 0) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err))
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)))
  })
}
