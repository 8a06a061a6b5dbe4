import { Agent, request } from 'node:http'
import { text } from 'node:stream/consumers'
import { CHAIN_DEVICE } from '../lib/token-service.ts'

/**
 * Load generator for rotation chains, run as its own process (autocannon cannot chain requests): one loop
 * per chain, each POSTing the state from the previous response, keep-alive connections, a warm-up that is
 * not measured, then a measured window. Reads its job as JSON on stdin, writes the result as JSON on stdout.
 *
 *   mode "token": POST /auth/refresh-token {refreshToken, device}  → next state = response.refreshToken
 *   mode "cas":   POST /rotate {id, generation}            → next state = response.generation
 *   mode "oidc":  POST /token grant_type=refresh_token (form, client_secret_post) → response.refresh_token
 */
export type ChainJob = {
  baseUrl: string
  mode: 'token' | 'cas' | 'oidc'
  /** One entry per chain: a refresh token (token, oidc) or `{ id, generation }` (cas). */
  states: unknown[]
  /** oidc mode: the client's credentials, sent in the form. */
  client?: { client_id: string; client_secret: string }
  warmupMs: number
  durationMs: number
}

export type ChainResult = {
  requests: number
  seconds: number
  rps: number
  p50: number
  p99: number
  max: number
  errors: number
  errorSamples: string[]
  /** Successful responses over the whole run, warm-up included (what the servers' CPU was spent on). */
  sent: number
  /** Chains still alive at the end, with their latest state (to continue in the next round). */
  states: unknown[]
}

const job = JSON.parse(await text(process.stdin)) as ChainJob
const base = new URL(job.baseUrl)
const agent = new Agent({ keepAlive: true, maxSockets: job.states.length })
const path = { token: '/auth/refresh-token', cas: '/rotate', oidc: '/token' }[job.mode]
const contentType = job.mode === 'oidc' ? 'application/x-www-form-urlencoded' : 'application/json'

function post(body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path,
        headers: {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          'user-agent': 'bench-chains/1',
        },
      },
      (res) => {
        let data = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          data += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}

const start = performance.now()
const measureFrom = start + job.warmupMs
const stopAt = measureFrom + job.durationMs
const latencies: number[] = []
const errorSamples: string[] = []
let errors = 0
let sent = 0

async function chain(initial: unknown): Promise<unknown> {
  let state = initial
  for (;;) {
    const t0 = performance.now()
    if (t0 >= stopAt) return state
    const body =
      job.mode === 'token'
        ? JSON.stringify({ refreshToken: state, device: CHAIN_DEVICE })
        : job.mode === 'oidc'
          ? new URLSearchParams({
              grant_type: 'refresh_token',
              refresh_token: state as string,
              ...job.client,
            }).toString()
          : JSON.stringify({
              id: (state as { id: string }).id,
              generation: (state as { generation: number }).generation,
            })
    let res: { status: number; body: string }
    try {
      res = await post(body)
    } catch (err) {
      errors++
      if (errorSamples.length < 5) errorSamples.push((err as Error).message)
      return undefined
    }
    const t1 = performance.now()
    if (res.status !== 200) {
      // A broken chain cannot continue: its token is spent or refused.
      errors++
      if (errorSamples.length < 5) errorSamples.push(`${res.status} ${res.body.slice(0, 200)}`)
      return undefined
    }
    sent++
    const parsed = JSON.parse(res.body) as {
      refreshToken?: string
      refresh_token?: string
      id?: string
      generation?: number
    }
    state =
      job.mode === 'token'
        ? parsed.refreshToken
        : job.mode === 'oidc'
          ? parsed.refresh_token
          : { id: parsed.id, generation: parsed.generation }
    if (t0 >= measureFrom && t1 <= stopAt) latencies.push(t1 - t0)
  }
}

const finals = await Promise.all(job.states.map(chain))
agent.destroy()
latencies.sort((a, b) => a - b)
const pct = (p: number) =>
  latencies.length === 0
    ? Number.NaN
    : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!
const seconds = job.durationMs / 1000
const result: ChainResult = {
  requests: latencies.length,
  seconds,
  rps: latencies.length / seconds,
  p50: pct(0.5),
  p99: pct(0.99),
  max: latencies.at(-1) ?? Number.NaN,
  sent,
  errors,
  errorSamples,
  states: finals.filter((s) => s !== undefined),
}
process.stdout.write(JSON.stringify(result))
