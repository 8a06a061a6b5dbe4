import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { TestProject } from 'vitest/node'

const run = promisify(execFile)

declare module 'vitest' {
  interface ProvidedContext {
    redisClusterNodes: string
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  await new Promise((r) => server.close(r))
  return port
}

/**
 * Global setup of the `token-cluster` project: a real 3-master Redis Cluster from the machine's redis-server
 * on spare loopback ports, so the rotation, revocation, rate-limit and stream tests run on a cluster too.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'))
  const ports = [await freePort(), await freePort(), await freePort()]
  const procs: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        `nodes-${port}.conf`,
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    ),
  )
  const cli = (...args: string[]) => run('redis-cli', args, { timeout: 30_000 })
  const deadline = Date.now() + 15_000
  for (const port of ports) {
    while ((await cli('-p', String(port), 'ping').catch(() => ({ stdout: '' }))).stdout.trim() !== 'PONG') {
      if (Date.now() > deadline) throw new Error('redis cluster nodes did not start')
      await new Promise((r) => setTimeout(r, 50))
    }
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
    while (!(await cli('-p', String(port), 'cluster', 'info')).stdout.includes('cluster_state:ok')) {
      if (Date.now() > deadline) throw new Error('redis cluster did not reach state ok')
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  project.provide('redisClusterNodes', ports.map((p) => `127.0.0.1:${p}`).join(','))
  return async () => {
    await Promise.all(
      procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r).kill('SIGKILL')) : null)),
    )
    rmSync(dir, { recursive: true, force: true })
  }
}
