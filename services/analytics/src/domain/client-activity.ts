import { BlockList, isIPv4 } from 'node:net'
import { clientKey } from '@africhain/http'
import type { ReadDeps } from './analytics.ts'

/** Address ranges with a name an analyst should see next to the address (RFC 6890 special-use blocks). */
const SPECIAL: [label: string, network: string, prefix: number, family: 'ipv4' | 'ipv6'][] = [
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['shared (carrier-grade NAT)', '100.64.0.0', 10, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['documentation', '192.0.2.0', 24, 'ipv4'],
  ['documentation', '198.51.100.0', 24, 'ipv4'],
  ['documentation', '203.0.113.0', 24, 'ipv4'],
  ['loopback', '::1', 128, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['documentation', '2001:db8::', 32, 'ipv6'],
]
const BLOCKS = SPECIAL.map(([label, net, prefix, family]) => {
  const list = new BlockList()
  list.addSubnet(net, prefix, family)
  return { label, list }
})

/** The special-use range an address is in (`private`, `loopback`, …), if any. */
export function addressLabel(address: string): string | undefined {
  const family = isIPv4(address) ? 'ipv4' : 'ipv6'
  return BLOCKS.find((b) => b.list.check(address, family))?.label
}

export type ClientSummary = {
  ip: string
  label?: string
  accounts: number
  logins: number
  failedLogins: number
  firstSeen: string | null
  lastSeen: string | null
  users: { userId: string; failed: number; succeeded: number }[]
}

/**
 * Everything one client did: `ip` is the client as the rate limits count it (the IPv4 address, or the
 * IPv6 /64 network), the accounts it touched with their failed and successful logins. `address` is valid.
 */
export async function clientSummary(deps: ReadDeps, address: string, limit: number): Promise<ClientSummary> {
  const a = await deps.store.clientActivity(address, limit)
  const label = addressLabel(address)
  return {
    ip: clientKey(address),
    ...(label ? { label } : {}),
    accounts: a.accounts,
    logins: a.logins,
    failedLogins: a.failedLogins,
    firstSeen: a.firstSeen?.toISOString() ?? null,
    lastSeen: a.lastSeen?.toISOString() ?? null,
    users: a.users,
  }
}
