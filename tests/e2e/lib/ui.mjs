// What the browser suites share: a page per person (each in its own browser context, in Chinese
// and Beijing time, so sessions never mix), signing in through the login form, waiting for a list
// to answer, and choosing from Element Plus selects that search the server as one types.
import assert from 'node:assert/strict'
import { DESKTOP } from './browser.mjs'
import { PASSWORD } from './api.mjs'

export class ConsoleUi {
  ctxs = {} // person → browser context; a suite may close one and delete it
  base = ''
  browser = null

  /** The server and the browser, once the suite's `before` has started them. */
  attach(base, browser) {
    this.base = base
    this.browser = browser
  }

  newPage = async (name, viewport = DESKTOP) => {
    const ctx = await this.browser.newContext({ viewport, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', acceptDownloads: true })
    ctx.setDefaultTimeout(15000)
    this.ctxs[name] = ctx
    const page = await ctx.newPage()
    page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`))
    if (process.env.E2E_DEBUG) page.on('response', (r) => { if (r.status() >= 400) console.error(`[${name}] ${r.status()} ${r.request().method()} ${r.url()}`) })
    return page
  }

  /** The login form filled in and sent with Enter; the API's answer. */
  submitLogin = async (page, username, password) => {
    await page.fill('[data-test=username]', username)
    await page.fill('[data-test=password]', password)
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login')),
      page.press('[data-test=password]', 'Enter'), // forms submit on Enter
    ])
    return res
  }

  /** Signs in with the suites' password and lands on the to-do centre. */
  loginAs = async (page, username, password = PASSWORD) => {
    await page.goto(`${this.base}/login`)
    const res = await this.submitLogin(page, username, password)
    assert.equal(res.status(), 200)
    await page.waitForURL('**/todo')
  }

  close = async () => {
    for (const c of Object.values(this.ctxs)) await c.close().catch(() => {})
  }
}

/** A list has answered (PagedTable sets data-state="ready" once its request is done). */
export const waitList = (page, list) => page.waitForSelector(`[data-list=${list}][data-state=ready] [data-test=paged-table]`)

/** An option of the open select dropdown. */
export async function pick(page, text) {
  await page.locator('.el-select-dropdown__item:visible').filter({ hasText: text }).first().click()
}

// A select that searches the server as one types (scope: a selector around its input): the
// typed text is sent, the answer listed, then the option chosen.
async function searchAndPick(page, scope, text, api) {
  const input = page.locator(`${scope} input`)
  await input.click()
  await Promise.all([
    page.waitForResponse((r) => r.url().includes(api) && decodeURIComponent(r.url()).includes(`q=${text}`)),
    input.fill(text),
  ])
  await page.waitForTimeout(100)
  await pick(page, text)
}

/** A colleague in a UserSelect, searched in the staff directory by name. */
export const pickUser = (page, scope, name) => searchAndPick(page, scope, name, '/api/v1/directory/users?')

/** An asset in an AssetSelect, searched in the archive by its tag. */
export const pickAsset = (page, scope, tag) => searchAndPick(page, scope, tag, '/api/v1/assets?')
