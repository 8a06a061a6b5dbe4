import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbLease } from '../src/storage/lease.repository.ts'
import { type TestDb, testDatabase } from './helpers/db.ts'
import { eventually } from './helpers/redis.ts'

let t: TestDb
beforeAll(async () => {
  t = await testDatabase('lease')
})
afterAll(async () => {
  await t?.drop()
})

describe('the database lease of the alert relay', () => {
  it('one holder at a time: taken when free, extended by its holder, refused to others', async () => {
    const a = dbLease(t.db, 'one', 60_000)
    const b = dbLease(t.db, 'one', 60_000)
    expect(await a.hold()).toBe(true)
    expect(await b.hold()).toBe(false)
    expect(await a.hold()).toBe(true)
    expect(await b.hold()).toBe(false)
    expect(await dbLease(t.db, 'another', 60_000).hold()).toBe(true) // leases are by name
  })

  it('passes to another relay once released, or once its holder stopped extending it', async () => {
    const a = dbLease(t.db, 'two', 300)
    const b = dbLease(t.db, 'two', 300)
    expect(await a.hold()).toBe(true)
    await a.release?.()
    expect(await b.hold()).toBe(true)
    expect(await a.hold()).toBe(false)
    await eventually(() => a.hold()) // b died: its lease runs out
    expect(await b.hold()).toBe(false)
  })
})
