// A private MariaDB whose global settings break SQL that assumes the defaults: NO_BACKSLASH_ESCAPES (a
// client-side `\'` no longer escapes a quote), ANSI_QUOTES and PIPES_AS_CONCAT (double quotes and `||` parse
// differently), a case- and accent-folding server collation (a database created without a collation folds
// `ámina` into `amina`), a non-UTC time zone and autocommit off. The services pin their own session on every
// connection (packages/db/src/connect.ts); CI runs the database tests a second time against this server.
//
//   node infra/scripts/hostile-mariadb.ts start        prints DATABASE_URL=… and HOSTILE_MARIADB_DIR=…
//   node infra/scripts/hostile-mariadb.ts stop <dir>   stops that server and removes its directory
//
// Its own --datadir under the temp directory, its own free loopback port and socket; root without a password.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.ts'

const run = promisify(execFile)

export const HOSTILE_SETTINGS = [
  '--sql-mode=NO_BACKSLASH_ESCAPES,ANSI_QUOTES,PIPES_AS_CONCAT',
  '--character-set-server=utf8mb4',
  '--collation-server=utf8mb4_general_ci',
  '--default-time-zone=+05:30',
  '--autocommit=0',
]

export type HostileMariadb = { url: string; dir: string; stop(): Promise<void> }

/** Initialises a data directory and starts `mariadbd` on it; resolves once it answers. */
export async function startHostileMariadb(opts: { detached?: boolean } = {}): Promise<HostileMariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-mariadb-'))
  const user = userInfo().username // mariadbd refuses to run as root unless told to
  const small = ['--innodb-log-file-size=8M', '--innodb-buffer-pool-size=128M']
  await run(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      `--user=${user}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...small,
    ],
    { timeout: 60_000 },
  )
  const port = await freePort()
  const log = openSync(join(dir, 'error.log'), 'a')
  const proc = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      `--user=${user}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'mysqld.sock')}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      '--skip-name-resolve',
      '--max-connections=500',
      ...small,
      ...HOSTILE_SETTINGS,
    ],
    { stdio: ['ignore', log, log], detached: opts.detached === true },
  )
  closeSync(log)
  if (opts.detached) proc.unref()
  const server: HostileMariadb = {
    url: `mysql://root@127.0.0.1:${port}/africhain`,
    dir,
    stop: () => stopServer(dir, proc),
  }
  try {
    await waitUntilAnswering(port, proc)
  } catch (err) {
    await server.stop()
    throw err
  }
  return server
}

async function waitUntilAnswering(port: number, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`mariadbd exited with ${proc.exitCode} while starting`)
    const ping = await run(
      'mariadb-admin',
      ['--no-defaults', '--protocol=tcp', '-h127.0.0.1', `-P${port}`, '-uroot', 'ping'],
      { timeout: 5000 },
    ).then(
      () => true,
      () => false,
    )
    if (ping) return
    if (Date.now() > deadline) throw new Error(`mariadbd on port ${port} did not answer within 30 s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** SIGTERM (a clean InnoDB shutdown), SIGKILL after 20 s; then the directory goes. */
async function stopServer(dir: string, proc?: ChildProcess): Promise<void> {
  const pidFile = join(dir, 'mysqld.pid')
  const pid = proc?.pid ?? (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined)
  if (pid !== undefined && alive(pid)) {
    process.kill(pid, 'SIGTERM')
    const deadline = Date.now() + 20_000
    // A child of this process is reaped through its exit event; a detached one is polled.
    const gone = () => (proc ? proc.exitCode !== null || proc.signalCode !== null : !alive(pid))
    while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    if (!gone()) process.kill(pid, 'SIGKILL')
  }
  rmSync(dir, { recursive: true, force: true })
}

if (import.meta.main) {
  const [command, dir] = process.argv.slice(2)
  if (command === 'start') {
    const server = await startHostileMariadb({ detached: true })
    console.log(`DATABASE_URL=${server.url}`)
    console.log(`HOSTILE_MARIADB_DIR=${server.dir}`)
  } else if (command === 'stop' && dir?.includes('hostile-mariadb-')) {
    await stopServer(dir)
  } else {
    console.error('usage: hostile-mariadb.ts start | stop <HOSTILE_MARIADB_DIR>')
    process.exit(2)
  }
}
