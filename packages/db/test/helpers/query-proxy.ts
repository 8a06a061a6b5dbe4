import { createServer, type Socket, connect as tcpConnect } from 'node:net'

/** What the proxy saw of one client connection: the text of each COM_QUERY, in order. */
export type SeenConnection = { queries: string[]; closed: boolean }

export type QueryProxy = {
  url: (database?: string) => string
  connections: SeenConnection[]
  /** Rewrites every `SET SESSION sql_mode` to an unknown variable, so the server refuses the statement. */
  breakPins: boolean
  close(): Promise<void>
}

const COM_QUERY = 0x03

/**
 * A TCP proxy in front of a MySQL server that reads the client's packets (3-byte length, sequence number,
 * payload; commands start a sequence at 0) and records each query, so a test can see what the driver sent
 * first on every connection. Plain text protocol only: no TLS, no compression (the pools use neither).
 */
export async function startQueryProxy(target: string): Promise<QueryProxy> {
  const upstream = new URL(target)
  const sockets = new Set<Socket>()
  const proxy: QueryProxy = {
    connections: [],
    breakPins: false,
    url: (database = '') => `mysql://root@127.0.0.1:${port}/${database}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
  const server = createServer((client) => {
    const seen: SeenConnection = { queries: [], closed: false }
    proxy.connections.push(seen)
    const server = tcpConnect(Number(upstream.port || 3306), upstream.hostname)
    for (const s of [client, server]) sockets.add(s)
    server.pipe(client)
    let pending = Buffer.alloc(0)
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4) {
        const length = pending.readUIntLE(0, 3)
        if (pending.length < 4 + length) break
        const packet = Buffer.from(pending.subarray(0, 4 + length))
        pending = pending.subarray(4 + length)
        if (packet[3] === 0 && packet[4] === COM_QUERY) {
          const text = packet.subarray(5).toString('utf8')
          seen.queries.push(text)
          if (proxy.breakPins && text.startsWith('SET SESSION sql_mode')) packet.write('sql_xode', 17)
        }
        server.write(packet)
      }
    })
    const end = () => {
      seen.closed = true
      client.destroy()
      server.destroy()
    }
    client.on('close', end).on('error', end)
    server.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return proxy
}
