import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/**
 * Graceful close for keep-alive clients: once the app starts closing, every response still in flight goes
 * out with `Connection: close`, so the client's socket ends with it and the server can finish closing instead
 * of waiting for idle keep-alive sockets until the drain deadline. (New requests get 503 via return503OnClosing.)
 */
export const drainPlugin = fp(
  async (app: FastifyInstance) => {
    let closing = false
    app.addHook('preClose', async () => {
      closing = true
      app.server.closeIdleConnections?.()
    })
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close')
      done(null, payload)
    })
  },
  { name: 'africhain-drain', fastify: '5.x' },
)
