import type { SessionOwner } from '../domain/ports.ts'

/** How many sessions a process remembers the owner of: ~200 bytes each, ~20 MB at most. */
export const REMEMBERED_OWNERS = 100_000

/**
 * The owner, device and expiry of sessions this process has created or read, so a refresh can write its event in
 * the rotation's one round trip (session.repository.ts). Only what never changes while a session lives is
 * kept — never its state (generation, revocation, expiry), which the rotation checks in the database — so
 * an entry is never stale and other instances need no notice. Bounded: the least recently used goes first;
 * a session not remembered is read once (the refresh's slower path) and remembered then.
 */
export function sessionOwners(limit = REMEMBERED_OWNERS) {
  const owners = new Map<string, SessionOwner>()
  return {
    get(id: string): SessionOwner | undefined {
      const owner = owners.get(id)
      if (owner) {
        owners.delete(id)
        owners.set(id, owner)
      }
      return owner
    },
    remember(s: SessionOwner): void {
      if (!owners.delete(s.id) && owners.size >= limit) owners.delete(owners.keys().next().value!)
      owners.set(s.id, { id: s.id, userId: s.userId, device: s.device, expiresAt: s.expiresAt })
    },
  }
}
