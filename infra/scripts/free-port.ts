import { createServer } from 'node:net'

/**
 * A loopback port nobody listens on right now (bound, then released). Shared by the tests, the benchmarks
 * and the local Redis Cluster / chaos scripts, which all start processes of their own on this machine.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
