/**
 * Session-duration statistics. Average and max are exact (SQL aggregates). The median is exact up to
 * EXACT_MEDIAN_LIMIT sessions (the middle rows, read in order); beyond that it comes from a log-scale
 * histogram computed in SQL: bucket `floor(log2(seconds) * BUCKETS_PER_DOUBLING)`, reported as the
 * geometric middle of the bucket holding the median, so the relative error is below
 * 2^(1 / (2 * BUCKETS_PER_DOUBLING)) - 1 ≈ 1.1 %.
 */
export const EXACT_MEDIAN_LIMIT = 10_000
export const BUCKETS_PER_DOUBLING = 32

export type DurationStats = { average: number; median: number; max: number }

/** Median of values sorted ascending (mean of the two middle ones for an even count). */
export function exactMedian(sorted: readonly number[]): number {
  if (sorted.length === 0) return 0
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function bucketOf(seconds: number): number {
  return Math.floor(Math.log2(Math.max(seconds, 1)) * BUCKETS_PER_DOUBLING)
}

export function bucketMiddle(bucket: number): number {
  return 2 ** ((bucket + 0.5) / BUCKETS_PER_DOUBLING)
}

/** Median from `(bucket, count)` rows: the bucket where the cumulative count passes half the total. */
export function histogramMedian(rows: readonly { bucket: number; count: number }[]): number {
  const sorted = [...rows].sort((a, b) => a.bucket - b.bucket)
  const total = sorted.reduce((n, r) => n + r.count, 0)
  if (total === 0) return 0
  let seen = 0
  for (const row of sorted) {
    seen += row.count
    if (seen * 2 >= total) return bucketMiddle(row.bucket)
  }
  return bucketMiddle(sorted[sorted.length - 1]!.bucket)
}
