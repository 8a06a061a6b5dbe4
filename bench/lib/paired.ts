/**
 * Runs the measured side and its reference in alternating pairs (A B, B A, A B, …) so that a burst of load
 * from other users of the machine lands on both sides; each pair gives one ratio, and the median of the pair
 * ratios is the figure (the pooled ratio is printed beside it).
 */
export async function alternatePairs<R extends { rps: number }>(
  pairs: number,
  run: (side: 'subject' | 'reference') => Promise<R>,
): Promise<{ subject: R[]; reference: R[]; ratios: number[]; median: number }> {
  const subject: R[] = []
  const reference: R[] = []
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 === 0 ? (['reference', 'subject'] as const) : (['subject', 'reference'] as const)
    for (const side of order) (side === 'subject' ? subject : reference).push(await run(side))
  }
  const ratios = subject.map((s, i) => s.rps / reference[i]!.rps)
  return { subject, reference, ratios, median: median(ratios) }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
