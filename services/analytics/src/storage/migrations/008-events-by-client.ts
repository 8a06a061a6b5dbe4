import { type Kysely, type RawBuilder, sql } from 'kysely'

/**
 * The event store answers "what came from this client" (`/analytics/events?ip=`, `/analytics/ips/:ip`)
 * from an index, not a scan. A client is counted as the rate limits count it: an IPv4 address exactly
 * (an IPv4-mapped IPv6 address as that IPv4 address), an IPv6 address by its /64. `client_net` is a
 * virtual column over `ip` (4 bytes for IPv4, the first 8 bytes for IPv6, NULL for anything that is not an
 * address): every row, old and new, has it without a backfill, and ingest does not change. The index also
 * carries type and user, so the per-client summary reads the index alone.
 *
 * Upgrade: adding a virtual column is instant; building the index reads the table once (online).
 */

/** The client of an address as SQL, over a column or a literal; the reads use it on the queried address. */
export function clientNetOf(ip: RawBuilder<unknown>): RawBuilder<Uint8Array | null> {
  return sql`(case when length(inet6_aton(${ip})) = 4 then inet6_aton(${ip})
    when left(inet6_aton(${ip}), 12) = unhex('00000000000000000000ffff') then right(inet6_aton(${ip}), 4)
    else left(inet6_aton(${ip}), 8) end)`
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table analytics_events add column client_net varbinary(16)
    as ${clientNetOf(sql.ref('ip'))} virtual`.execute(db)
  await db.schema
    .createIndex('analytics_events_client_time')
    .on('analytics_events')
    .columns(['client_net', 'occurred_at', 'id', 'type', 'user_id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('analytics_events_client_time').on('analytics_events').execute()
  await db.schema.alterTable('analytics_events').dropColumn('client_net').execute()
}
