// A throwaway `custos serve` on a free port with a fresh SQLite database in a temp dir.
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

// The binary gets a clean environment: no CUSTOS_* variable of the caller leaks into it.
export function childEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CUSTOS_')) env[k] = v
  return { ...env, ...extra }
}

export async function startServer({ repo, bin, staticDir, settings = {} }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'custos-e2e-'))
  const dbUrl = `sqlite://${dir}/custos.db`
  const init = execFileSync(bin, ['admin', 'init', '--json', '--database', dbUrl], { env: childEnv(), cwd: dir, encoding: 'utf8', timeout: 120000 })
  const accounts = Object.fromEntries(JSON.parse(init).accounts.map((a) => [a.role, a]))
  const port = await freePort()
  const args = ['serve', '--listen', `127.0.0.1:${port}`, '--database', dbUrl, '--set', `server.static_dir=${staticDir}`, '--set', `audit.key_file=${dir}/audit.key`]
  for (const [k, v] of Object.entries(settings)) args.push('--set', `${k}=${v}`)
  const logFile = path.join(dir, 'server.log')
  const proc = spawn(bin, args, { env: childEnv({ CUSTOS_LOG_FILE: logFile }), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  proc.stdout.on('data', (d) => { output += d })
  proc.stderr.on('data', (d) => { output += d })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`custos serve exited ${proc.exitCode}: ${output}`)
    try {
      const r = await fetch(`${base}/readyz`)
      if (r.ok) break
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`custos serve not ready after 30 s: ${output}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    base, dir, dbUrl, accounts, logFile, repo,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM')
        await new Promise((r) => { const t = setTimeout(() => { proc.kill('SIGKILL'); r() }, 10000); proc.on('exit', () => { clearTimeout(t); r() }) })
      }
      if (!process.env.E2E_KEEP) fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}
