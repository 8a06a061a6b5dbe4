import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../../../', import.meta.url))

export type CliResult = { code: number | null; stdout: string; stderr: string }

/**
 * Runs `node services/token/src/cli.ts <args>` as `pnpm cli` does, with `env` over this process's
 * environment and `stdin` written to its standard input (a pipe: not a TTY), then closed.
 */
export function runCli(args: string[], env: Record<string, string>, stdin = ''): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['services/token/src/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8')
    })
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.on('error', () => {}) // the CLI may exit before reading everything
    child.stdin.end(stdin)
  })
}
