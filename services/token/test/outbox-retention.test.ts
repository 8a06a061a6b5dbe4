import { newEvent, type SessionEvent } from '@africhain/events'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { insertOutbox, outboxStore } from '../src/storage/outbox.ts'
import { useTestApp } from './helpers/app.ts'

// The token outbox's retention on MariaDB (migration 006): what the relay marks, republishes and deletes.
// No background relay runs here: the test drives the store the relay uses.
const { app } = useTestApp('outbox_retention', { build: { background: false } })

const failed = (n: number): SessionEvent[] =>
  Array.from({ length: n }, (_, i) =>
    newEvent({
      type: 'login.failed',
      userId: `r${i}`,
      ip: '10.0.0.1',
      data: { reason: 'invalid_credentials' },
    }),
  )

/** Publishes what waits as the relay would, with the given stream ids, `agoMs` in the past. */
async function publishAs(ids: string[], agoMs = 0): Promise<void> {
  const store = outboxStore(app.db)
  const rows = await store.read(ids.length)
  await store.markPublished(rows.map((r, i) => ({ key: r.key, streamId: ids[i]! })))
  if (agoMs > 0)
    await sql`update outbox set published_at = ${new Date(Date.now() - agoMs)} where stream_key is not null
      and published_at > ${new Date(Date.now() - 1_000)}`.execute(app.db)
}

describe('the token outbox retention', () => {
  it('keeps published rows with their stream ids, republishes those above a stream id, deletes only old ones', async () => {
    const store = outboxStore(app.db)
    await sql`delete from outbox`.execute(app.db)
    await insertOutbox(app.db, failed(3), new Date())
    await publishAs(['1700000000000-0', '1700000000000-1', '1700000000001-0'], 3 * 3_600_000) // 3 h ago
    await insertOutbox(app.db, failed(2), new Date())
    await publishAs(['9000000000000-0', '10000000000000-5']) // just now
    await insertOutbox(app.db, failed(1), new Date()) // unpublished

    expect(await store.read(10)).toHaveLength(1)
    expect(await store.backlog!()).toBe(1)
    // Ids compare as ids, not as text: 10000000000000-5 is the highest although '9…' sorts after '1…'.
    expect(await store.highestPublished()).toBe('10000000000000-5')
    // In bounded statements: one row, then what is left.
    expect(await store.unpublishAfter('1700000000001-0', 1)).toBe(1)
    expect(await store.read(10)).toHaveLength(2)
    expect(await store.unpublishAfter('1700000000001-0', 10)).toBe(1)
    expect(await store.read(10)).toHaveLength(3)
    expect(await store.highestPublished()).toBe('1700000000001-0')

    // The janitor: rows published more than 2 h ago, in batches; unpublished rows stay, however old.
    await sql`update outbox set created_at = ${new Date(Date.now() - 5 * 3_600_000)}`.execute(app.db)
    const cutoff = new Date(Date.now() - 2 * 3_600_000)
    expect(await store.deletePublishedBefore(cutoff, 2)).toBe(2)
    expect(await store.deletePublishedBefore(cutoff, 2)).toBe(1)
    expect(await store.deletePublishedBefore(cutoff, 2)).toBe(0)
    expect(await store.read(10)).toHaveLength(3)
    expect(await store.highestPublished()).toBeNull()
    expect(await store.unpublishAfter(null, 10)).toBe(0)
  })
})
