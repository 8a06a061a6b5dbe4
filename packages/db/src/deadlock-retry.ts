/**
 * InnoDB resolves a lock cycle by rolling one transaction back whole (ER_LOCK_DEADLOCK) and expects the
 * client to run it again; under contention (a revocation racing a rotation of the same session) that is
 * normal operation, not an error. Runs `transaction` again after a deadlock, a bounded number of times.
 * Only for transactions whose every statement is inside `transaction`: the rollback undid all of it.
 */
export async function retryOnDeadlock<T>(transaction: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction()
    } catch (err) {
      if (attempt >= attempts || !isDeadlock(err)) throw err
      // A short random pause so the two sides do not collide again in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt))
    }
  }
}

export function isDeadlock(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ER_LOCK_DEADLOCK'
}
