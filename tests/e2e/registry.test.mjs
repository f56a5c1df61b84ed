// Browser tests of the service registry pages (issues #8 and #6): the front desk logs a service
// request and finds it again by a two-character word, sees a customer's mobile masked and shows
// it with a reason, checks an import by a dry run; a desk of another department gets the
// not-found page for a customer it may not see; the registry manager assigns, works and closes
// a request with feedback; the system administrator sets SLA targets. Its own `custos serve`
// (fresh SQLite database), data seeded through the API; screenshots as registry-*.png in
// build/screenshots/.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from './lib/server.mjs'
import { Api, PASSWORD, activateAdmin } from './lib/api.mjs'
import { launch, Shots } from './lib/browser.mjs'
import { ConsoleUi, waitList } from './lib/ui.mjs'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = process.env.CUSTOS_BIN || path.join(repo, 'build', 'custos')
const staticDir = path.join(repo, 'web', 'dist')
const shots = new Shots(path.join(repo, 'build', 'screenshots'), { prefix: 'registry-' })

let server, browser, data
const ui = new ConsoleUi()
const { ctxs, newPage, loginAs } = ui

// A session opened through the API, handed to the browser as its cookie (an administrator's,
// whose login needs a TOTP step the set-up has already passed).
async function withSession(name, token) {
  const page = await newPage(name)
  await ctxs[name].addCookies([{ name: 'custos_session', value: token, url: server.base, httpOnly: true, sameSite: 'Strict' }])
  await page.goto(`${server.base}/todo`)
  await page.waitForSelector('.user-name')
  return page
}

// The password dialog, when the API asked for a recent password (security.reauth_minutes).
async function reauthIfAsked(page, done) {
  await page.waitForSelector(`[data-test=reauth-password], ${done}`)
  if (await page.isVisible('[data-test=reauth-password]')) {
    await page.fill('[data-test=reauth-password]', PASSWORD)
    await page.press('[data-test=reauth-password]', 'Enter')
  }
  await page.waitForSelector(done)
}

async function setupData() {
  const { base, accounts } = server
  const sys = await activateAdmin(base, accounts.system)
  const sec = await activateAdmin(base, accounts.security)
  const dept = async (code, name, parent_id) => (await sys.api.post('/api/v1/departments', { code, name, ...(parent_id ? { parent_id } : {}) })).id
  const hq = await dept('HQ', '仁和医院')
  const d = { hq, opd: await dept('OPD', '门诊部', hq), ward: await dept('WARD', '住院部', hq), fac: await dept('FAC', '后勤保障部', hq) }
  d.desk = await dept('OPD-DESK', '门诊导诊台', d.opd)
  d.ward3 = await dept('WARD-3', '住院三病区', d.ward)
  const users = {}
  for (const [username, name, department_id, employee_no] of [
    ['zhaomin', '赵敏', d.desk, 'RH0101'], ['sunwei', '孙伟', d.ward3, 'RH0301'],
    ['liqiang', '李强', d.fac, 'RH0601'], ['qianhui', '钱慧', d.hq, 'RH0001'],
  ]) {
    users[username] = await sys.api.post('/api/v1/users', { username, name, department_id, employee_no })
    const a = await Api.login(base, username, users[username].initial_password)
    await a.post('/api/v1/auth/password', { old_password: users[username].initial_password, new_password: PASSWORD })
  }
  // Roles: the built-in 前台客服 (their department and below) for the two desks and the repairer,
  // 服务信息主管 (everything) for 钱慧; department names for the pickers.
  await sec.api.post('/api/v1/auth/reauth', { password: PASSWORD })
  const roles = (await sec.api.get('/api/v1/roles')).items
  const role = (code) => roles.find((r) => r.code === code).id
  const names = await sec.api.post('/api/v1/roles', { code: 'dept_names', name: '部门名称查看', scope: 'all', permissions: ['org:departments:read'] })
  for (const [username, codes, clearance] of [['zhaomin', ['service_desk'], 2], ['sunwei', ['service_desk'], 2], ['liqiang', ['service_desk'], 2], ['qianhui', ['registry_manager'], 3]]) {
    await sec.api.put(`/api/v1/users/${users[username].id}/roles`, { role_ids: [...codes.map(role), names.id] })
    // Customers are 敏感 (level 2) by default: the desks are cleared for them.
    const u = await sec.api.get(`/api/v1/users/${users[username].id}`)
    await sec.api.req('PATCH', `/api/v1/users/${u.id}`, { clearance }, { 'If-Match': u.etag })
  }
  const desk = await Api.login(base, 'zhaomin', PASSWORD)
  const ward = await Api.login(base, 'sunwei', PASSWORD)
  const manager = await Api.login(base, 'qianhui', PASSWORD)
  // Customers of the outpatient desk (filed in 门诊导诊台 by its clerk) and of ward 3.
  const customer = (api, body) => api.post('/api/v1/customers', body)
  const c = {
    zhang: await customer(desk, { name: '张伟', mobile: '13812345678', id_card: '110101198003074512', address: '北京市东城区和平里街道 12 号', email: 'zhang.wei@example.cn', tags: ['门诊', '慢病随访'], source: '门诊登记' }),
    li: await customer(desk, { name: '李秀英', mobile: '13987654321', tags: ['门诊'], source: '电话咨询' }),
    hosp: await customer(desk, { kind: 'organization', name: '和平里社区卫生服务中心', mobile: '010-64211234', tags: ['合作单位'], source: '合作协议' }),
    wang: await customer(ward, { name: '王芳', mobile: '13611112222', tags: ['住院'], source: '住院登记' }),
  }
  await manager.post(`/api/v1/customers/${c.zhang.id}/consents`, { purpose: 'service', legal_basis: 'consent', policy_version: 'v2.1', given_by: '张伟', source: '门诊纸质同意书' })
  // Service requests in several states. One logged under a one-minute response target is
  // breached by the time the list is looked at; an urgent one is due within the hour.
  const types = (await sys.api.get('/api/v1/service-request-types')).items
  const typeId = (code) => types.find((x) => x.code === code).id
  await sys.api.put('/api/v1/sla-targets', { type_id: typeId('inquiry'), priority: 'low', response_minutes: 1, resolve_minutes: 2 })
  const sr = (api, body) => api.post('/api/v1/service-requests', body)
  const breached = await sr(desk, { type: 'inquiry', priority: 'low', channel: 'phone', title: '咨询体检报告领取时间', description: '客户来电询问上周体检报告何时可以领取。', customer_id: c.li.id })
  const breachedAt = Date.now()
  await sys.api.put('/api/v1/sla-targets', { type_id: typeId('inquiry'), priority: 'low', response_minutes: 480, resolve_minutes: 10080 })
  await sr(desk, { type: 'complaint', priority: 'urgent', channel: 'walk_in', title: '候诊区空调不制冷', description: '二楼候诊区空调不制冷，多名患者反映闷热。', customer_id: c.zhang.id })
  await sr(desk, { type: 'appointment', priority: 'normal', channel: 'wechat', title: '预约专家门诊复诊', description: '希望预约下周三上午心内科专家号。', customer_id: c.zhang.id })
  const done = await sr(desk, { type: 'repair', priority: 'high', channel: 'phone', title: '门诊一楼自助机无法打印', description: '自助机打印凭条卡纸。' })
  await manager.post(`/api/v1/service-requests/${done.id}/assign`, { assignee_id: users.liqiang.id })
  await manager.post(`/api/v1/service-requests/${done.id}/transitions`, { action: 'start' })
  await manager.post(`/api/v1/service-requests/${done.id}/transitions`, { action: 'resolve', comment: '已清理卡纸并更换打印纸。' })
  // Ward 3's own request mentions 漏水 too: the outpatient desk must not find it.
  await sr(ward, { type: 'repair', priority: 'normal', channel: 'phone', title: '病房洗手池下水管漏水', description: '12 床旁洗手池下方漏水。', customer_id: c.wang.id })
  return { sys, sec, desk, ward, manager, depts: d, users, customers: c, breached, breachedAt }
}

describe('service registry pages', () => {
  before(async () => {
    assert.ok(fs.existsSync(path.join(staticDir, 'index.html')), 'web/dist is missing: run npm run build in web/')
    server = await startServer({ repo, bin, staticDir, settings: { 'security.reauth_minutes': 1, 'jobs.interval_ms': 3000, 'privacy.export_per_hour': 1 } })
    data = await setupData()
    browser = await launch(repo)
    ui.attach(server.base, browser)
  })

  after(async () => {
    await ui.close()
    if (browser) await browser.close()
    if (server) await server.stop()
    console.log(`screenshots: ${shots.taken.length} in ${shots.dir}`)
  })

  test('the front desk logs a service request and finds it by the two-character word 漏水', async () => {
    const page = await newPage('desk')
    await loginAs(page, 'zhaomin')
    const menu = await page.textContent('.side-menu')
    assert.ok(menu.includes('服务登记') && menu.includes('登记服务请求') && menu.includes('客户资料'), menu)
    assert.ok(!menu.includes('SLA 设置') && !menu.includes('个人信息权利请求'), 'no configuration or privacy pages for the desk')
    await page.click('[data-test=menu-request-new]')
    await page.waitForSelector('[data-test=request-form]')
    // Checked beside the fields before anything is sent.
    await page.click('[data-test=request-submit]')
    await page.waitForSelector('[data-test=field-title] .el-form-item__error:has-text("请填写标题")')
    await page.click('[data-test=request-type] >> text=报修')
    await page.click('[data-test=request-priority] >> text=高')
    await page.click('[data-test=request-channel] >> text=电话')
    await page.waitForSelector('[data-test=sla-preview] >> text=1 天')
    await page.fill('[data-test=request-title]', '门诊二楼卫生间漏水')
    await page.fill('[data-test=request-description]', '二楼东侧卫生间洗手台下方漏水，地面湿滑，已放置警示牌。')
    // The customer, found by the exact mobile number (masked in the list).
    const input = page.locator('[data-test=field-customer_id] input')
    await input.click()
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/customers?') && r.url().includes('mobile=13812345678')),
      input.fill('13812345678'),
    ])
    await page.locator('.el-select-dropdown__item:visible').filter({ hasText: '138****5678' }).first().click()
    await shots.take(page, 'request-new')
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/service-requests') && r.request().method() === 'POST'),
      page.click('[data-test=request-submit]'),
    ])
    assert.equal(res.status(), 201)
    const created = await res.json()
    assert.equal(created.customer_id, data.customers.zhang.id)
    data.leak = created
    await page.waitForURL(`**/registry/requests/${created.id}`)
    await page.waitForSelector('[data-test=request-status] >> text=新建')
    assert.ok(await page.isVisible('[data-test=action-assign]'), 'a new request may be assigned')
    for (const a of ['start', 'resolve', 'close', 'reopen']) assert.equal(await page.locator(`[data-test=action-${a}]`).count(), 0, `${a} is not offered on a new request`)

    await page.click('[data-test=menu-service-requests]')
    await waitList(page, 'requests')
    await page.fill('[data-test=request-q]', '漏水')
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/service-requests?') && decodeURIComponent(r.url()).includes('q=漏水')),
      page.press('[data-test=request-q]', 'Enter'),
    ])
    await waitList(page, 'requests')
    assert.equal(await page.textContent('[data-list=requests] [data-test=pager-total]'), '共 1 条', 'ward 3\'s leak is not the desk\'s to see')
    const rows = await page.locator('[data-list=requests] .el-table__body tr').allTextContents()
    assert.match(rows[0], new RegExp(`${created.number}.*门诊二楼卫生间漏水`))
    await shots.take(page, 'requests-search')
  })

  test('a customer\'s mobile is masked until it is shown with a reason', async () => {
    const page = ctxs.desk.pages()[0]
    await page.click('[data-test=menu-customers]')
    await waitList(page, 'customers')
    assert.equal(await page.textContent('[data-list=customers] [data-test=pager-total]'), '共 3 条', 'the desk sees its own department\'s customers')
    const body = await page.textContent('[data-list=customers] .el-table__body')
    assert.ok(body.includes('138****5678') && !body.includes('13812345678'), 'the mobile is masked in the list')
    assert.ok(!body.includes('王'), 'ward 3\'s customer is not listed')
    await shots.take(page, 'customers')
    await page.click(`[data-test=customer-${data.customers.zhang.id}]`)
    await page.waitForSelector('[data-test=field-mobile] [data-test=masked-value]')
    assert.equal(await page.textContent('[data-test=field-mobile] [data-test=masked-value]'), '138****5678')
    await page.waitForSelector('[data-test=consents] >> text=提供服务')
    await page.waitForSelector(`[data-test=customer-requests] >> text=${data.leak.number}`)
    await shots.take(page, 'customer-detail')
    await page.click('[data-test=field-mobile] [data-test=unmask]')
    await page.click('[data-test=unmask-submit]')
    await page.waitForSelector('[data-test=unmask-dialog] .el-form-item__error:has-text("请填写查看事由")')
    await page.fill('[data-test=unmask-reason]', '回电确认漏水报修的处理进度')
    await page.click('[data-test=unmask-submit]')
    await reauthIfAsked(page, '[data-test=field-mobile] [data-test=masked-value]:has-text("13812345678")')
    assert.notEqual(await page.textContent('[data-test=field-id_card] [data-test=masked-value]'), '110101198003074512', 'only the asked field is shown')
    await shots.take(page, 'customer-unmasked')
  })

  test('an import dry run lists the bad rows by row and column', async () => {
    const page = ctxs.desk.pages()[0]
    await page.click('[data-test=menu-customers]')
    await waitList(page, 'customers')
    await page.click('[data-test=customer-import]')
    await page.waitForSelector('[data-test=import-dialog]')
    const csv = [
      '外部编号,类型,名称,手机号,身份证号,地址,邮箱,标签,所属部门编码,负责人工号,密级,来源',
      'C-1001,个人,刘芳,13900001111,,,,门诊,,,,门诊登记',
      'C-1002,个人,,13900002222,,,,门诊,,,,门诊登记',
      'C-1003,个人,陈晨,1390000abcd,,,,门诊,,,,门诊登记',
    ].join('\n') + '\n'
    await page.setInputFiles('[data-test=import-file]', { name: '客户导入.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
    await page.click('[data-test=import-dry-run]')
    await page.waitForSelector('[data-test=import-report] [data-test=import-errors]')
    assert.match(await page.textContent('[data-test=import-verdict]'), /2 处错误/)
    const rows = await page.locator('[data-test=import-errors] .el-table__body tr').allTextContents()
    assert.equal(rows.length, 2, rows.join(' | '))
    assert.match(rows[0], /^3名称/)
    assert.match(rows[1], /^4手机号/)
    assert.ok(await page.isDisabled('[data-test=import-run]'), 'no real import while the dry run found errors')
    await shots.take(page, 'import-dry-run')
    await page.keyboard.press('Escape')
    const list = await data.desk.get('/api/v1/customers?q=刘芳')
    assert.equal(list.total, 0, 'a dry run writes nothing')
  })

  test('a desk of another department gets the not-found page for that customer', async () => {
    await assert.rejects(data.ward.get(`/api/v1/customers/${data.customers.zhang.id}`), (e) => e.status === 404)
    const page = await newPage('ward')
    await loginAs(page, 'sunwei')
    await page.goto(`${server.base}/registry/customers/${data.customers.zhang.id}`)
    await page.waitForSelector('[data-test=customer-not-found] >> text=页面不存在')
    assert.equal(await page.locator('[data-test=masked-value]').count(), 0, 'nothing of the record is shown')
    await shots.take(page, 'customer-not-found')
    // Its own customer opens.
    await page.goto(`${server.base}/registry/customers/${data.customers.wang.id}`)
    await page.waitForSelector('[data-test=field-mobile] [data-test=masked-value]')
  })

  test('the request list colours breached and due-soon requests; the manager works one to the end with feedback', async () => {
    // The SLA job (every 3 s here) flags the breach once the one-minute response time has passed.
    const wait = data.breachedAt + 66000 - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const page = await newPage('manager')
    await loginAs(page, 'qianhui')
    await page.click('[data-test=menu-service-requests]')
    await waitList(page, 'requests')
    assert.equal(await page.textContent('[data-list=requests] [data-test=pager-total]'), '共 6 条')
    const rowOf = (title) => page.locator('[data-list=requests] .el-table__body tr').filter({ hasText: title })
    assert.match(await rowOf('咨询体检报告领取时间').getAttribute('class'), /row-breached/)
    assert.match(await rowOf('候诊区空调不制冷').getAttribute('class'), /row-due-soon/)
    assert.equal(await rowOf('候诊区空调不制冷').locator('[data-sla=due_soon]').count(), 1)
    assert.equal(await rowOf('咨询体检报告领取时间').locator('[data-sla=breached]').count(), 1)
    await shots.take(page, 'requests')
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/service-requests?') && r.url().includes('breached=true')),
      page.click('[data-test=request-view] >> text=已超时'),
    ])
    await waitList(page, 'requests')
    assert.equal(await page.textContent('[data-list=requests] [data-test=pager-total]'), '共 1 条')

    await page.goto(`${server.base}/registry/requests/${data.leak.id}`)
    await page.waitForSelector('[data-test=request-status] >> text=新建')
    await page.click('[data-test=action-assign]')
    const input = page.locator('[data-test=assign-user] input')
    await input.click()
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/directory/users?') && decodeURIComponent(r.url()).includes('q=李强')),
      input.fill('李强'),
    ])
    await page.waitForTimeout(100)
    await page.locator('.el-select-dropdown__item:visible:has-text("李强")').first().click()
    await page.waitForSelector('[data-test=assign-dialog] >> text=后勤保障部')
    await shots.take(page, 'request-assign')
    await page.click('[data-test=assign-submit]')
    await page.waitForSelector('[data-test=request-status] >> text=已分派')
    assert.equal(await page.textContent('[data-test=request-assignee]'), '李强')
    assert.equal(await page.textContent('[data-test=request-department]'), '后勤保障部')
    assert.equal(await page.locator('[data-test=action-resolve]').count(), 0, 'resolve is offered only once work started')
    await page.click('[data-test=action-start]')
    await page.click('[data-test=transition-submit]')
    await page.waitForSelector('[data-test=request-status] >> text=处理中')
    await page.click('[data-test=action-resolve]')
    await page.fill('[data-test=transition-comment]', '已更换洗手台下水管密封圈，地面已清理。')
    await page.click('[data-test=transition-submit]')
    await page.waitForSelector('[data-test=request-status] >> text=已解决')
    await page.waitForSelector('[data-test=comments] >> text=已更换洗手台下水管密封圈')
    assert.ok(await page.isVisible('[data-test=action-close]') && await page.isVisible('[data-test=action-reopen]'))
    assert.equal(await page.locator('[data-test=action-assign]').count(), 0, 'a resolved request is reopened, not reassigned')
    await page.click('[data-test=feedback-submit]')
    await page.waitForSelector('[data-test=feedback-form] .el-form-item__error:has-text("请选择满意度")')
    await page.locator('[data-test=feedback-rate] .el-rate__item').nth(4).click()
    await page.fill('[data-test=feedback-comment]', '处理及时，师傅很专业。')
    await page.click('[data-test=feedback-submit]')
    await page.waitForSelector('[data-test=feedback-item] >> text=处理及时，师傅很专业。')
    assert.equal(await page.locator('[data-test=feedback-form]').count(), 0, 'feedback is asked once per resolution')
    await page.waitForSelector('.el-message', { state: 'detached', timeout: 8000 }).catch(() => {})
    await shots.take(page, 'request-detail')
    await page.click('[data-test=action-close]')
    await page.click('[data-test=transition-submit]')
    await page.waitForSelector('[data-test=request-status] >> text=已关闭')
    const fb = await data.manager.get(`/api/v1/service-requests/${data.leak.id}/feedback`)
    assert.equal(fb.items[0].satisfaction, 5)
  })

  test('the registry manager exports the filtered list and sees the dashboard chart', async () => {
    const page = ctxs.manager.pages()[0]
    await page.click('[data-test=menu-service-requests]')
    await waitList(page, 'requests')
    await page.click('[data-test=request-view] >> text=全部')
    await waitList(page, 'requests')
    await page.click('[data-test=export]')
    // Logging in is a fresh password; after security.reauth_minutes the console asks again.
    const download = page.waitForEvent('download')
    await page.click('[data-test=export-csv]')
    await reauthIfAsked(page, '.el-message--success:has-text("导出文件已生成")')
    const file = await download
    assert.match(file.suggestedFilename(), /\.csv$/)
    const csv = fs.readFileSync(await file.path(), 'utf8')
    assert.ok(csv.includes('门诊二楼卫生间漏水'))
    assert.ok(!csv.includes('13812345678'), 'exports are masked')
    // privacy.export_per_hour is 1 here: the second export is refused, and said so.
    await page.click('[data-test=export]')
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/service-requests/export')),
      page.click('[data-test=export-xlsx]'),
    ])
    assert.equal(refused.status(), 429)
    await page.waitForSelector('.el-message-box >> text=导出次数已达上限')
    await shots.take(page, 'export-limit')
    await page.click('.el-message-box .el-button--primary')
    await page.click('[data-test=menu-dashboard]')
    await page.waitForSelector('[data-test=chart-requests] canvas')
    assert.equal((await page.textContent('[data-test=stat-open-requests] .stat-value')).trim(), '4')
    await shots.take(page, 'dashboard')
    await page.click('[data-test=menu-subject-requests]')
    await waitList(page, 'subject-requests')
  })

  test('the system administrator sets an SLA target', async () => {
    const page = await withSession('sys', data.sys.api.token)
    await page.click('[data-test=menu-sla-settings]')
    await page.waitForSelector('[data-test=sla-repair-urgent] >> text=15 分钟')
    await shots.take(page, 'sla-settings')
    await page.click('[data-test=sla-repair-urgent]')
    await page.fill('[data-test=target-response] input, input[data-test=target-response]', '10')
    await page.click('[data-test=target-save]')
    await page.waitForSelector('[data-test=sla-repair-urgent] >> text=10 分钟')
    const targets = (await data.sys.api.get('/api/v1/sla-targets')).items
    const repair = (await data.sys.api.get('/api/v1/service-request-types')).items.find((x) => x.code === 'repair')
    assert.equal(targets.find((x) => x.type_id === repair.id && x.priority === 'urgent').response_minutes, 10)
    const menu = await page.textContent('.side-menu')
    assert.ok(!menu.includes('客户资料'), 'the system administrator holds no registry read permission')
  })
})
