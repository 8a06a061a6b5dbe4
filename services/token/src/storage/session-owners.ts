import type { KnownSession } from '../domain/ports.ts'

/** How many sessions a process remembers the owner of: ~200 bytes each, ~20 MB at most. */
export const REMEMBERED_OWNERS = 100_000

/**
 * The sessions this process has created or read, so a refresh can write its event and answer in the
 * rotation's one round trip (rotation-statement.ts): the owner, device and expiry, which never change while
 * a session lives, and the user's roles as last read, which the rotation checks unchanged in the database.
 * Never the session's state (generation, revocation), which the rotation checks too: an entry cannot make a
 * rotation succeed that the database would refuse, and other instances need no notice. Bounded: the least
 * recently used goes first; a session not remembered is read once (the refresh's slower path) and
 * remembered then.
 */
export function sessionOwners(limit = REMEMBERED_OWNERS) {
  const owners = new Map<string, KnownSession>()
  return {
    get(id: string): KnownSession | undefined {
      const owner = owners.get(id)
      if (owner) {
        owners.delete(id)
        owners.set(id, owner)
      }
      return owner
    },
    remember(s: KnownSession): void {
      if (!owners.delete(s.id) && owners.size >= limit) owners.delete(owners.keys().next().value!)
      owners.set(s.id, {
        id: s.id,
        userId: s.userId,
        device: s.device,
        expiresAt: s.expiresAt,
        roles: s.roles,
      })
    },
    /** The roles a rotation of a remembered session found. */
    refresh(id: string, roles: string[]): void {
      const s = owners.get(id)
      if (s) s.roles = roles
    },
  }
}
