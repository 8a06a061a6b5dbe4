import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const fixture = fileURLToPath(new URL('./fixtures/shutdown-signals.ts', import.meta.url))

/**
 * Runs the fixture (stdout a pipe, as under a log collector), sends SIGTERM when it is ready and again as
 * soon as its close has begun when `twice`: its exit code and the messages of its lines.
 */
function run(how: string, twice: boolean): Promise<{ code: number | null; msgs: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, how], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    child.on('message', (m) => {
      if (m === 'ready' || (m === 'closing' && twice)) child.kill('SIGTERM')
    })
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({
        code,
        msgs: out
          .split('\n')
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { msg: string }).msg),
      }),
    )
  })
}

describe('shutdownOnSignals', () => {
  it.each([
    ['one SIGTERM, close finishes: exit 0', 'now', false, 0, ['shutting down']],
    ['one SIGTERM, close stuck past the deadline: exit 1', 'deadline', false, 1, ['shutting down']],
    [
      'a second SIGTERM during a stuck close: exit 1 at once, every line written',
      'never',
      true,
      1,
      ['shutting down', 'signal during shutdown: exiting now'],
    ],
  ])('%s', async (_, how, twice, code, msgs) => {
    expect(await run(how as string, twice as boolean)).toEqual({ code, msgs })
  })
})
