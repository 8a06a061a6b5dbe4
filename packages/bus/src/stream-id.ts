/** Redis stream ids (`<ms>-<seq>`): parsing and ordering, so positions can be compared and stored. */
export type StreamId = { ms: number; seq: bigint }

const STREAM_ID = /^(\d{1,16})-(\d{1,20})$/

export function parseStreamId(id: string): StreamId {
  const m = STREAM_ID.exec(id)
  if (!m) throw new Error(`"${id}" is not a stream id`)
  return { ms: Number(m[1]), seq: BigInt(m[2]!) }
}

/** Negative when a < b, zero when equal, positive when a > b. */
export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a)
  const y = parseStreamId(b)
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1
  return x.seq === y.seq ? 0 : x.seq < y.seq ? -1 : 1
}

export function maxStreamId(ids: Iterable<string>): string | undefined {
  let max: string | undefined
  for (const id of ids) if (max === undefined || compareStreamIds(id, max) > 0) max = id
  return max
}

/** A stream id as fixed-width text (`<16-digit ms>-<20-digit seq>`, 37 chars): ordered as text is ordered. */
export function sortableStreamId(id: string): string {
  const { ms, seq } = parseStreamId(id)
  return `${String(ms).padStart(16, '0')}-${seq.toString().padStart(20, '0')}`
}

export function idOfSortableStreamId(key: string): string {
  const [ms, seq] = key.split('-')
  return `${BigInt(ms!)}-${BigInt(seq!)}`
}
