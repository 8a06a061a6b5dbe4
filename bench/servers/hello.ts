import Fastify from 'fastify'

// The ceiling for HTTP benchmarks: a bare Fastify hello-world, defaults only, in its own process.
const app = Fastify()
app.get('/', async () => ({ hello: 'world' }))
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})
