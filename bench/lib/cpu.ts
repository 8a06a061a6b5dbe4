import { cpuSeconds } from './proc.ts'
import { listenerPid } from './system.ts'

/** The processes one figure's CPU is summed over, by name (a missing pid reads as NaN). */
export type Processes = Record<string, number | undefined>

/** The shared MariaDB and Redis of this machine, found by the port they listen on. */
export function infraPids(databaseUrl: string, redisUrl: string): Processes {
  return {
    mariadb: listenerPid(Number(new URL(databaseUrl).port || 3306), ['mariadbd', 'mysqld']),
    redis: listenerPid(Number(new URL(redisUrl).port || 6379), ['redis-server', 'valkey-server']),
  }
}

/** CPU seconds per process between `start()` and the returned function's call. */
export function cpuMeter(procs: Processes): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid)]))
  return () => Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid) - before[k]!]))
}

/** `name 123 µs` for each process and the sum, per unit of work. */
export function perUnit(cpu: Record<string, number>, units: number): { total: number; text: string } {
  const us = Object.entries(cpu).map(([k, s]) => [k, (s * 1e6) / units] as const)
  const total = us.reduce((a, [, v]) => a + v, 0)
  const text = us.map(([k, v]) => `${k} ${Number.isFinite(v) ? v.toFixed(0) : 'n/a'}`).join(', ')
  return { total, text: `${text} → ${Number.isFinite(total) ? total.toFixed(0) : 'n/a'} µs` }
}
