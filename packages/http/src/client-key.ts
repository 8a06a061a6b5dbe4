import { isIP, isIPv4, isIPv6 } from 'node:net'

/**
 * The client's address as the services record and rate-limit it: Fastify's `request.ip` (which honours
 * TRUST_PROXY) when it is an IP address. A forwarded header can say anything (`X-Forwarded-For: <65 × f>`
 * answered 500 on a varchar(64) column, and random junk would be a fresh rate limit per request): when it
 * is not an address, the address of the peer that sent it stands instead.
 */
export function clientAddress(request: {
  ip: string
  socket?: { remoteAddress?: string | undefined }
}): string {
  if (isIP(request.ip) !== 0) return request.ip
  return request.socket?.remoteAddress ?? 'unknown'
}

/**
 * The client a per-client limit counts: an IPv4 address as it is, an IPv6 address by its network prefix
 * (`2001:db8:1:2::/64` by default). An IPv6 subscriber is routed a whole /64 and picks any address in it,
 * so a per-address limit is no limit. An IPv4-mapped address (`::ffff:198.51.100.7`, what a dual-stack
 * socket reports for an IPv4 client) counts as that IPv4 address. Anything else is returned unchanged.
 */
export function clientKey(ip: string, ipv6Prefix = 64): string {
  const address = ip.replace(/%.*$/, '') // a zone id (`fe80::1%eth0`) is not part of the address
  if (isIPv4(address)) return address
  if (!isIPv6(address)) return ip
  const words = ipv6Words(address)
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join('.')
  }
  const prefix = Math.min(128, Math.max(0, Math.trunc(ipv6Prefix)))
  const masked = words.map((w, i) => {
    const bits = Math.min(16, Math.max(0, prefix - i * 16))
    return bits === 0 ? 0 : w & ((0xffff << (16 - bits)) & 0xffff)
  })
  return `${compress(masked)}/${prefix}`
}

/** The eight 16-bit words of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 folded in). */
function ipv6Words(address: string): number[] {
  let text = address.toLowerCase()
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)))
  const left = parse(head)
  if (tail === undefined) return left
  const right = parse(tail)
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run (≥ 2) of zero words as `::`. */
function compress(words: number[]): string {
  let best = { at: -1, len: 1 }
  for (let i = 0; i < 8; ) {
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > best.len) best = { at: i, len: j - i }
    i = j === i ? i + 1 : j
  }
  const hex = words.map((w) => w.toString(16))
  if (best.at < 0) return hex.join(':')
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`
}
