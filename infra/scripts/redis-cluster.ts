import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.ts'

const run = promisify(execFile)

export type LocalRedisCluster = { nodes: string; stop(): Promise<void> }

/**
 * A real 3-master Redis Cluster from the machine's `redis-server` on spare loopback ports, no persistence,
 * in a temporary directory: for the cluster test project and `pnpm chaos --cluster`.
 */
export async function startLocalRedisCluster(): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'))
  const ports = [await freePort(), await freePort(), await freePort()]
  const procs: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes'],
        ...['--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, '--save', '', '--appendonly', 'no'],
      ],
      { stdio: 'ignore' },
    ),
  )
  const stop = async () => {
    await Promise.all(
      procs.map((p) =>
        p.exitCode === null && p.signalCode === null
          ? new Promise((r) => p.once('exit', r).kill('SIGKILL'))
          : null,
      ),
    )
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const cli = (...args: string[]) => run('redis-cli', args, { timeout: 30_000 })
    const deadline = Date.now() + 15_000
    const waitFor = async (what: string, ok: () => Promise<boolean>) => {
      while (!(await ok().catch(() => false))) {
        if (Date.now() > deadline) throw new Error(`redis cluster: ${what}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    for (const port of ports) {
      await waitFor(
        'nodes did not start',
        async () => (await cli('-p', String(port), 'ping')).stdout.trim() === 'PONG',
      )
    }
    await cli(
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    )
    for (const port of ports) {
      await waitFor('did not reach state ok', async () =>
        (await cli('-p', String(port), 'cluster', 'info')).stdout.includes('cluster_state:ok'),
      )
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), stop }
}
