import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { covers, decodeRecent, encodeRecent, trimRecent } from '../src/domain/recent-events.ts'
import { DEFAULT_RISK_RULES as rules } from '../src/domain/risk-rules.ts'
import { byTime, type RiskEvent, scoreAt } from '../src/domain/risk-score.ts'

const T0 = Date.parse('2026-11-27T10:00:00.000Z')
const HOUR = 3600_000
const W = rules.windowMs

const arbEvent = fc.record({
  at: fc.integer({ min: T0 - 3 * W, max: T0 }),
  type: fc.constantFrom('session.created', 'session.refreshed', 'session.revoked', 'login.failed'),
  ip: fc.option(fc.constantFrom('10.0.0.1', '10.0.0.2', '2001:db8::1', "10.0.0.'3"), { nil: null }),
  // separators of the encoding, quotes, percent signs, unicode: all must come back unchanged
  deviceKey: fc.option(fc.oneof(fc.constantFrom('id:a', 'web:Mozilla/5.0 "x"|y,z.%20'), fc.string()), {
    nil: null,
  }),
  reason: fc.option(fc.constantFrom('logout', 'admin', 'invalid_credentials'), { nil: null }),
})
const arbEvents = fc
  .array(arbEvent, { maxLength: 60 })
  .map((list) => list.map((e, i): RiskEvent => ({ ...e, id: `e${i}` })).sort(byTime))

const facts = (list: readonly RiskEvent[]) => list.map(({ id: _id, ...rest }) => rest)

describe('recent history kept in the risk row', () => {
  it('round-trips every scoring fact, in time order, with ids unique within the list', () => {
    fc.assert(
      fc.property(arbEvents, (events) => {
        const text = encodeRecent(events)
        expect(text).not.toMatch(/['"\\\0\n\r]/) // nothing that SQL would have to escape
        const decoded = decodeRecent(text)!
        expect(facts(decoded)).toEqual(facts(events))
        expect(new Set(decoded.map((e) => e.id)).size).toBe(events.length)
      }),
    )
  })

  it('trimming keeps every event from the new `from` on, and the score at the latest event', () => {
    fc.assert(
      fc.property(
        arbEvents.filter((l) => l.length > 0),
        fc.integer({ min: 0, max: 3 * W }),
        fc.integer({ min: 1, max: 80 }),
        (events, keepMs, maxEvents) => {
          const latest = events.at(-1)!.at
          const kept = trimRecent({ from: null, events }, latest, rules, { keepMs, maxEvents })
          const from = kept.from ?? Number.NEGATIVE_INFINITY
          expect(kept.events).toEqual(events.filter((e) => e.at >= from))
          expect(kept.events.length).toBeGreaterThan(0)
          if (kept.from !== null && kept.events.length > maxEvents)
            // only ties at the cut may exceed the cap
            expect(
              kept.events.slice(0, kept.events.length - maxEvents).every((e) => e.at === kept.from),
            ).toBe(true)
          if (covers(kept, latest, rules))
            expect(scoreAt(kept.events, latest, rules)).toEqual(scoreAt(events, latest, rules))
        },
      ),
    )
  })

  it.each([
    ['not this format at all', '{"s":[],"e":[]}'],
    ['a field missing', 'abc|'],
    ['a field too many', '0|a|0.0....|x'],
    ['an index past the strings', '0|a|0.5...'],
    ['a bad percent escape', '0|%E0%A4%A|0.0...'],
    ['an event without a type', '0|a|0....'],
  ])('decodeRecent: %s → null (the worker then reads the event store)', (_, text) => {
    expect(decodeRecent(text)).toBeNull()
  })

  it.each([
    { name: 'complete history (no cut yet)', from: null, newMin: T0 - 10 * W, covered: true },
    { name: 'new events a whole window after the cut', from: T0 - W, newMin: T0, covered: true },
    {
      name: 'a late event whose window starts before the cut',
      from: T0 - W,
      newMin: T0 - HOUR,
      covered: false,
    },
    { name: 'a late event older than the cut itself', from: T0, newMin: T0 - 1, covered: false },
  ])('covers: $name → $covered', ({ from, newMin, covered }) => {
    expect(covers({ from, events: [] }, newMin, rules)).toBe(covered)
  })

  it('keeps two windows by default and cuts nothing while everything is recent', () => {
    const events = [T0 - 3 * W, T0 - 2 * W - 1, T0 - 2 * W, T0 - HOUR, T0].map(
      (at, i): RiskEvent => ({
        id: `e${i}`,
        type: 'session.refreshed',
        at,
        ip: null,
        deviceKey: null,
        reason: null,
      }),
    )
    const kept = trimRecent({ from: null, events }, T0, rules)
    expect(kept.from).toBe(T0 - 2 * W)
    expect(kept.events.map((e) => e.at)).toEqual([T0 - 2 * W, T0 - HOUR, T0])
    const recent = { from: null, events: events.slice(3) }
    expect(trimRecent(recent, T0, rules)).toBe(recent)
  })
})
