// Debian's Chromium driven by playwright-core (no downloaded browser). Each launch uses a fresh
// temporary profile (user-data dir) that Playwright removes on close.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

export const DESKTOP = { width: 1366, height: 768 }
export const PHONE = { width: 390, height: 844 }

export function loadPlaywright(repo) {
  // playwright-core is a devDependency of the console (web/package.json): one lockfile.
  const require = createRequire(path.join(repo, 'web', 'package.json'))
  return require('playwright-core')
}

export async function launch(repo) {
  const { chromium } = loadPlaywright(repo)
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium'
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
}

// Prefixes of the suites that name their screenshots with one. Suites run one after another (in
// their files' order) and share the folder; a suite without a prefix (the console's) clears the
// screenshots that are not another suite's.
const SUITE_PREFIXES = ['assets-', 'inventory-', 'registry-']

export class Shots {
  // prefix: this suite's screenshots start with it, and only those are cleared at the start.
  constructor(dir, { prefix = '' } = {}) {
    this.dir = dir
    this.prefix = prefix
    fs.mkdirSync(dir, { recursive: true })
    const mine = (f) => (prefix ? f.startsWith(prefix) : !SUITE_PREFIXES.some((p) => f.startsWith(p)))
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.png') && mine(f)) fs.rmSync(path.join(dir, f))
    this.taken = []
  }

  async take(page, name, { fullPage = false } = {}) {
    // Let charts, transitions and web fonts settle.
    await page.waitForLoadState('networkidle').catch(() => {})
    await page.evaluate(() => document.fonts && document.fonts.ready).catch(() => {})
    await page.waitForTimeout(350)
    const file = path.join(this.dir, `${this.prefix}${name}.png`)
    await page.screenshot({ path: file, fullPage })
    this.taken.push(file)
  }
}
