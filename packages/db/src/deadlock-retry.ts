/**
 * InnoDB resolves a lock cycle by rolling one transaction back whole (ER_LOCK_DEADLOCK) and expects the
 * client to run it again; under contention (a revocation racing a rotation of the same session, two ingest
 * workers on one user) that is normal operation, not an error. Runs `transaction` again after a deadlock, or
 * another error `also` names that a second run wins, a bounded number of times, after a short random pause
 * (growing with the attempt) so the two sides do not collide again in lockstep. Only for transactions whose
 * every statement is inside `transaction`: the rollback undid all of it.
 */
export async function retryOnDeadlock<T>(
  transaction: () => Promise<T>,
  opts: { attempts?: number; also?: (err: unknown) => boolean; jitterMs?: number } = {},
): Promise<T> {
  const { attempts = 4, also = () => false, jitterMs = 5 } = opts
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction()
    } catch (err) {
      if (attempt >= attempts || !(isDeadlock(err) || also(err))) throw err
      await new Promise((resolve) => setTimeout(resolve, Math.random() * jitterMs * attempt))
    }
  }
}

export function isDeadlock(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ER_LOCK_DEADLOCK'
}

/** A plain INSERT of a row another transaction created meanwhile (ER_DUP_ENTRY). */
export function isDuplicateKey(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ER_DUP_ENTRY'
}
