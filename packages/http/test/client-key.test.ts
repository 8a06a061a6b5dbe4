import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clientKey } from '../src/index.ts'

describe('clientKey', () => {
  it.each([
    ['198.51.100.7', 64, '198.51.100.7'],
    ['::ffff:198.51.100.7', 64, '198.51.100.7'],
    ['::FFFF:198.51.100.7', 64, '198.51.100.7'],
    ['::ffff:c633:6407', 64, '198.51.100.7'],
    ['0:0:0:0:0:ffff:198.51.100.7', 64, '198.51.100.7'],
    ['2001:db8:1:2::1', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', 64, '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:0000:0000:0000:0001', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', 64, '2001:db8:1:3::/64'],
    ['2001:db8:1:2::1', 48, '2001:db8:1::/48'],
    ['2001:db8:1:2::1', 56, '2001:db8:1::/56'],
    ['2001:db8:1:2ff::1', 56, '2001:db8:1:200::/56'],
    ['2001:db8:1:2::1', 128, '2001:db8:1:2::1/128'],
    ['2001:db8::1', 0, '::/0'],
    ['fe80::1%eth0', 64, 'fe80::/64'],
    ['::1', 64, '::/64'],
    ['64:ff9b::198.51.100.7', 96, '64:ff9b::/96'],
    ['1:0:0:1::', 64, '1:0:0:1::/64'],
    ['1:0:0:0:1::', 128, '1::1:0:0:0/128'],
    ['not an address', 64, 'not an address'],
  ])('%s /%i → %s', (ip, prefix, key) => expect(clientKey(ip, prefix)).toBe(key))

  it('puts every address of one /64 under one key, and keys differ across /64s (property)', () => {
    const word = fc.integer({ min: 0, max: 0xffff })
    const words = fc.array(word, { minLength: 8, maxLength: 8 })
    fc.assert(
      fc.property(words, words, (a, b) => {
        const ip = (w: number[]) => w.map((x) => x.toString(16)).join(':')
        const sameNet = [...a.slice(0, 4), ...b.slice(4)]
        const mapped = a.slice(0, 6).every((x, i) => x === (i === 5 ? 0xffff : 0))
        if (mapped) return
        expect(clientKey(ip(a))).toBe(clientKey(ip(sameNet)))
        const differs = a.slice(0, 4).some((x, i) => x !== b[i])
        if (differs && !b.slice(0, 6).every((x, i) => x === (i === 5 ? 0xffff : 0))) {
          expect(clientKey(ip(a))).not.toBe(clientKey(ip(b)))
        }
        // The key is itself a valid IPv6 network: what the analytics side can group on.
        expect(clientKey(ip(a))).toMatch(/^[0-9a-f:]+\/64$/)
      }),
    )
  })
})
