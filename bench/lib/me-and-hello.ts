import { type Child, freePort, startNode, waitForHttp } from './proc.ts'
import { login, register } from './token-service.ts'

export type MeAndHello = {
  /** `GET /auth/me` with a fresh user's access token, checked to answer 200. */
  me: { url: string; headers: Record<string, string> }
  /** A bare Fastify hello-world in its own process: the reference every /auth/me figure is divided by. */
  helloUrl: string
  hello: Child
}

/** The two sides of every `/auth/me` benchmark; the caller stops `hello` when done. */
export async function meAndHello(tokenUrl: string): Promise<MeAndHello> {
  const identifier = `me-${Date.now()}@bench.example`
  const service = { url: tokenUrl }
  await register(service, identifier)
  const { accessToken } = await login(service, identifier, 'me-device')
  const port = await freePort()
  const hello = startNode('hello-world', 'bench/servers/hello.ts', { env: { PORT: String(port) } })
  try {
    const helloUrl = `http://127.0.0.1:${port}/`
    await waitForHttp(helloUrl, hello)
    const me = { url: `${tokenUrl}/auth/me`, headers: { authorization: `Bearer ${accessToken}` } }
    const check = await fetch(me.url, { headers: me.headers })
    if (check.status !== 200) throw new Error(`GET /auth/me → ${check.status}: ${await check.text()}`)
    return { me, helloUrl, hello }
  } catch (error) {
    await hello.stop()
    throw error
  }
}
