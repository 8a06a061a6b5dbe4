import { waitFor } from '@africhain/testing'
import { afterAll, describe, expect, it, vi } from 'vitest'
import {
  configurePasswordHashing,
  hashPassword,
  passwordHashingLoad,
  verifyPassword,
} from '../src/domain/password.ts'
import { uniqueEmail, useTestApp } from './helpers/app.ts'

// The instrument: node's scrypt, wrapped to count the calls in flight and, while `gate.held`, to hold every
// call until the test releases it (`parkedAt(n)` is the latch on n calls held). No timing: "refused fast"
// means refused while no hash has finished.
const gate = vi.hoisted(() => ({
  held: false,
  inFlight: 0,
  maxInFlight: 0,
  parked: [] as (() => void)[],
  waiting: [] as (() => void)[],
  park(run: () => void) {
    this.parked.push(run)
    for (const check of this.waiting.splice(0)) check()
  },
  parkedAt(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (this.parked.length >= n ? resolve() : void this.waiting.push(check))
      check()
    })
  },
  release() {
    this.held = false
    for (const go of this.parked.splice(0)) go()
  },
}))

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>()
  const scrypt = (...args: unknown[]) => {
    const done = args.pop() as (err: Error | null, key: Buffer) => void
    gate.inFlight++
    gate.maxInFlight = Math.max(gate.maxInFlight, gate.inFlight)
    const run = () =>
      (real.scrypt as (...a: unknown[]) => void)(...args, (err: Error | null, key: Buffer) => {
        gate.inFlight--
        done(err, key)
      })
    if (gate.held) gate.park(run)
    else run()
  }
  return { ...real, default: { ...real, scrypt }, scrypt }
})

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: { code?: string; headers?: Record<string, string> }) => ({ ok: false as const, error }),
  )

describe('password hashing concurrency (domain)', () => {
  it('never runs more than the cap at once, queues up to the bound, refuses the rest at once', async () => {
    configurePasswordHashing({ concurrency: 2, queue: 3 })
    gate.held = true
    gate.maxInFlight = 0
    const results = Array.from({ length: 10 }, (_, i) => settle(hashPassword(`password number ${i}`, 10)))
    await gate.parkedAt(2) // two hashes running
    // Five beyond cap + queue are already answered, while no hash has finished.
    const refused = (await Promise.all(results.slice(5))).map((r) => (r.ok ? 'ok' : r.error.code))
    expect(refused).toEqual(Array(5).fill('DEPENDENCY_UNAVAILABLE'))
    const first = await results[5]!
    expect(first.ok ? undefined : first.error.headers).toEqual({ 'Retry-After': '1' })
    expect(gate.parked).toHaveLength(2)
    gate.release()
    const done = await Promise.all(results.slice(0, 5))
    expect(done.every((r) => r.ok)).toBe(true)
    expect(gate.maxInFlight).toBe(2)
    // The hashes are real ones.
    const stored = done[0]!.ok ? done[0]!.value : ''
    expect(await verifyPassword('password number 0', stored)).toBe(true)
  })

  it('keeps the cap under a steady stream of work (each finished hash hands its slot on)', async () => {
    configurePasswordHashing({ concurrency: 3, queue: 1000 })
    gate.maxInFlight = 0
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => hashPassword(`pw ${i} long`, 10)))
    expect(results).toHaveLength(60)
    expect(gate.maxInFlight).toBe(3)
  })
})

describe('password hashing concurrency (HTTP)', () => {
  const { app } = useTestApp('hash-cap', {
    env: { PASSWORD_HASH_CONCURRENCY: '1', PASSWORD_HASH_QUEUE: '1' },
  })
  afterAll(() => gate.release()) // before the app closes: a held hash would keep it open

  it('answers 503 DEPENDENCY_UNAVAILABLE with Retry-After instead of queueing more scrypt work', async () => {
    // The start-up dummy hash may still hold the one slot.
    await waitFor(() => passwordHashingLoad().active === 0, 'no hash running')
    gate.held = true
    gate.maxInFlight = 0
    const register = () =>
      app.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { identifier: uniqueEmail(), password: 'long enough password' },
      })
    const answered: Awaited<ReturnType<typeof register>>[] = []
    let fourAnswered!: () => void
    const allButTwo = new Promise<void>((resolve) => {
      fourAnswered = resolve
    })
    const responses = Array.from({ length: 6 }, async () => {
      const res = await register()
      answered.push(res)
      if (answered.length === 4) fourAnswered()
      return res
    })
    // All but the running one and the queued one are answered while the gate is still closed.
    await allButTwo
    expect(gate.parked).toHaveLength(1)
    for (const res of answered) {
      expect(res.statusCode).toBe(503)
      expect(res.json().code).toBe('DEPENDENCY_UNAVAILABLE')
      expect(res.headers['retry-after']).toBe('1')
    }
    gate.release()
    const all = await Promise.all(responses)
    expect(all.filter((r) => r.statusCode === 201)).toHaveLength(2)
    expect(gate.maxInFlight).toBe(1)
  })
})
