import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BOUND_DAYS, boundedWrites, decodeDayBounds, encodeDayBounds } from '../src/domain/day-bounds.ts'

const m = (pairs: [string, number][]) => new Map(pairs)

describe('day bounds kept in the risk row', () => {
  it.each([
    ['nothing known: every maximum is written', [], [['2026-11-27', 40]], [['2026-11-27', 40]]],
    ['a maximum at its bound changes nothing', [['2026-11-27', 40]], [['2026-11-27', 40]], []],
    ['a maximum below its bound changes nothing', [['2026-11-27', 40]], [['2026-11-27', 0]], []],
    [
      'a maximum above its bound is written',
      [['2026-11-27', 40]],
      [['2026-11-27', 55]],
      [['2026-11-27', 55]],
    ],
    ['a day without a bound is written', [['2026-11-27', 90]], [['2026-11-26', 0]], [['2026-11-26', 0]]],
  ] as [string, [string, number][], [string, number][], [string, number][]][])(
    '%s',
    (_name, bounds, dayMax, writes) => {
      expect(boundedWrites(m(dayMax), m(bounds)).writes).toEqual(writes)
    },
  )

  it('keeps the bounds of the latest days only, raised to what was written', () => {
    const r = boundedWrites(
      m([
        ['2026-11-25', 10],
        ['2026-11-27', 70],
      ]),
      m([
        ['2026-11-26', 20],
        ['2026-11-27', 40],
      ]),
    )
    expect([...r.bounds]).toEqual([
      ['2026-11-26', 20],
      ['2026-11-27', 70],
    ])
    expect(r.bounds.size).toBe(BOUND_DAYS)
  })

  it('skipping changes no stored value: GREATEST over the writes equals GREATEST over every maximum', () => {
    const arbDay = fc.constantFrom('2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28')
    const arbBatch = fc.array(fc.tuple(arbDay, fc.integer({ min: 0, max: 100 })), { maxLength: 4 })
    fc.assert(
      fc.property(fc.array(arbBatch, { maxLength: 12 }), (batches) => {
        const all = new Map<string, number>()
        const stored = new Map<string, number>()
        let bounds = decodeDayBounds(null)
        for (const batch of batches) {
          const dayMax = new Map<string, number>()
          for (const [day, score] of batch) dayMax.set(day, Math.max(dayMax.get(day) ?? 0, score))
          for (const [day, score] of dayMax) all.set(day, Math.max(all.get(day) ?? 0, score))
          const r = boundedWrites(dayMax, bounds)
          for (const [day, score] of r.writes) stored.set(day, Math.max(stored.get(day) ?? 0, score))
          bounds = decodeDayBounds(encodeDayBounds(r.bounds)) // through the row's text, as in the worker
        }
        expect(stored).toEqual(all)
      }),
    )
  })

  it.each([
    [null],
    [''],
    ['2026-11-27'],
    ['2026-11-27='],
    ['2026-11-27=4=5'],
    ['2026-11-27=x'],
    ['2026-11-27=1.5'],
    ['27/11/2026=4'],
    ['2026-11-27=40,garbage'],
  ])('text that is not a bounds list (%j) reads as no bounds', (text) => {
    expect(decodeDayBounds(text).size).toBe(0)
  })

  it('round-trips through the text', () => {
    const b = m([
      ['2026-11-26', 0],
      ['2026-11-27', 100],
    ])
    expect(decodeDayBounds(encodeDayBounds(b))).toEqual(b)
    expect(encodeDayBounds(new Map())).toBeNull()
  })
})
