/** Redis stream ids (`<ms>-<seq>`): parsing and ordering, so positions can be compared and stored. */
export type StreamId = { ms: number; seq: bigint }

/** Both parts are unsigned 64-bit: up to 20 digits (an explicit XADD or XSETID id may use them all). */
const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/
/** The widest time part `sortableStreamId` stores (16 digits: Redis' clock reaches that in year 318857). */
const SORTABLE_MS_DIGITS = 16

function parts(id: string): [bigint, bigint] {
  const m = STREAM_ID.exec(id)
  if (!m) throw new Error(`"${id}" is not a stream id`)
  return [BigInt(m[1]!), BigInt(m[2]!)]
}

/** The time part as a number of ms (exact up to 2^53, far beyond any clock), for ages and lags. */
export function parseStreamId(id: string): StreamId {
  const [ms, seq] = parts(id)
  return { ms: Number(ms), seq }
}

/** Negative when a < b, zero when equal, positive when a > b; exact over both 64-bit parts. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parts(a)
  const [bm, bs] = parts(b)
  if (am !== bm) return am < bm ? -1 : 1
  return as === bs ? 0 : as < bs ? -1 : 1
}

export function maxStreamId(ids: Iterable<string>): string | undefined {
  let max: string | undefined
  for (const id of ids) if (max === undefined || compareStreamIds(id, max) > 0) max = id
  return max
}

/**
 * A stream id as fixed-width text (`<16-digit ms>-<20-digit seq>`, 37 chars): ordered as text is ordered.
 * Throws for a time part of more than 16 digits, which no XADD `*` makes.
 */
export function sortableStreamId(id: string): string {
  const [ms, seq] = parts(id)
  const time = ms.toString()
  if (time.length > SORTABLE_MS_DIGITS)
    throw new Error(`stream id "${id}": a time part over ${SORTABLE_MS_DIGITS} digits cannot be stored`)
  return `${time.padStart(SORTABLE_MS_DIGITS, '0')}-${seq.toString().padStart(20, '0')}`
}

export function idOfSortableStreamId(key: string): string {
  const [ms, seq] = key.split('-')
  return `${BigInt(ms!)}-${BigInt(seq!)}`
}
