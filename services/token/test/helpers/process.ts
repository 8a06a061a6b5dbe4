import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { LogLines, waitFor } from '@africhain/testing'

export { freePort } from '../../../../infra/scripts/free-port.ts'

const root = fileURLToPath(new URL('../../../../', import.meta.url))

/** A service as a real OS process (`node <entry> [args]`), its log lines collected for latches. */
export class ServiceProcess {
  /** Its stdout and stderr lines, with a latch: `log.seen(match, what)`. */
  readonly log = new LogLines()
  readonly lines = this.log.all
  readonly proc: ChildProcess
  readonly exited: Promise<number | null>

  constructor(entry: string, env: Record<string, string>, args: string[] = []) {
    this.proc = spawn(process.execPath, [entry, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let buffered = ''
    const collect = (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      this.log.write(...parts)
    }
    this.proc.stdout!.on('data', collect)
    this.proc.stderr!.on('data', collect)
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)))
  }

  async waitForHttp(url: string): Promise<void> {
    await waitFor(async () => (await fetch(url)).ok, `${url} to answer`, 30_000)
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null) this.proc.kill(signal)
  }
}
