// A register larger than the server counts (issue #6: list totals are counted up to 1,000 rows,
// total_exact false beyond): demo data of 1,100 service requests, the registry manager's list
// says "共 1000+ 条" and pages on with a page count that is a floor too.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv, startServer } from './lib/server.mjs'
import { launch, DESKTOP } from './lib/browser.mjs'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = process.env.CUSTOS_BIN || path.join(repo, 'build', 'custos')
const staticDir = path.join(repo, 'web', 'dist')

let server, browser, password

describe('a register larger than its counted total', () => {
  before(async () => {
    server = await startServer({ repo, bin, staticDir })
    // The demo writes through the same key file as the server (./data of its directory).
    const out = execFileSync(bin, ['demo', '--database', server.dbUrl, '--scale', '1100', '--customers', '50'],
      { cwd: server.dir, env: childEnv(), encoding: 'utf8', timeout: 120000 })
    password = /shared password: (\S+)/.exec(out)[1]
    browser = await launch(repo)
  })
  after(async () => {
    if (browser) await browser.close()
    if (server) await server.stop()
  })

  test('the list says 1000+, and paging goes on', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' })
    ctx.setDefaultTimeout(15000)
    const page = await ctx.newPage()
    await page.goto(`${server.base}/login`)
    await page.fill('[data-test=username]', 'kf.zhou')
    await page.fill('[data-test=password]', password)
    await page.press('[data-test=password]', 'Enter')
    await page.waitForURL('**/todo')
    await page.goto(`${server.base}/registry/requests`)
    await page.waitForSelector('[data-list=requests][data-state=ready] [data-test=paged-table]')
    assert.match(await page.textContent('[data-list=requests] [data-test=pager-total]'), /1000\+/)
    // Page on from the first page; the page count is a floor too.
    await page.click('[data-list=requests] [data-test=pager-next]')
    await page.waitForSelector('[data-list=requests][data-state=ready] [data-test=paged-table]')
    assert.match(await page.textContent('[data-list=requests] .pager-page'), /第 2 \/ \d+\+ 页/)
    await ctx.close()
  })
})
