// Browser tests of the equipment archive pages (issues #8 and #7, IT-1 … IT-6): the IT
// department's asset manager finds equipment by state and by model, registers a laptop (checked
// beside the fields first), issues it to a colleague of the outpatient department, sends it to
// repair, out to an external repair centre and back, edits it, and reads all of it in the history;
// a reader without the write permission is offered no step; an asset manager outside the IT
// department who tries an external repair is told why not, in Chinese and in English (IT-4); a
// failing API leaves an error panel with a retry, not a blank page; the list and the detail at
// phone width. A nurse's purchase request goes to the admin/HR specialist and then the
// president's office, each seeing it in their to-do list while a bystander sees nothing, and its
// approval registers the laptops as ordered with a purchase task for the IT department (IT-1); a
// printer pending disposal is written off through the disposal approval started from its page
// (IT-6). Its own `custos serve` (fresh SQLite database), data seeded through the API;
// screenshots as assets-*.png in build/screenshots/.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from './lib/server.mjs'
import { Api, PASSWORD, activateAdmin } from './lib/api.mjs'
import { launch, Shots, DESKTOP, PHONE } from './lib/browser.mjs'
import { ConsoleUi, pick, pickUser, waitList } from './lib/ui.mjs'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = process.env.CUSTOS_BIN || path.join(repo, 'build', 'custos')
const staticDir = path.join(repo, 'web', 'dist')
const shots = new Shots(path.join(repo, 'build', 'screenshots'), { prefix: 'assets-' })

let server, browser, data
const ui = new ConsoleUi()
const { ctxs, newPage, loginAs } = ui

async function approveHere(page, comment) {
  await page.click('[data-test=action-approve]')
  if (comment) await page.fill('[data-test=action-comment]', comment)
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/approve') && r.request().method() === 'POST'),
    page.click('[data-test=action-submit]'),
  ])
  assert.equal(res.status(), 200)
  await page.waitForSelector('[data-test=task-panel]', { state: 'detached' })
}

async function act(page, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/actions') && r.request().method() === 'POST'),
    page.click('[data-test=action-submit]'),
  ])
  return res
}

async function setupData() {
  const { base, accounts } = server
  const sys = await activateAdmin(base, accounts.system)
  const sec = await activateAdmin(base, accounts.security)
  const dept = async (code, name, parent_id, kind) => (await sys.api.post('/api/v1/departments', { code, name, ...(parent_id ? { parent_id } : {}), ...(kind ? { kind } : {}) })).id
  const hq = await dept('HQ', '仁和医院')
  const d = { hq, it: await dept('XX', '信息管理部', hq, 'it'), opd: await dept('OPD', '门诊部', hq), fin: await dept('CW', '财务部', hq, 'finance') }
  const users = {}
  for (const [username, name, department_id, employee_no] of [
    ['zhoujie', '周杰', d.it, 'RH0801'], ['wanglei', '王磊', d.it, 'RH0802'],
    ['liuyang', '刘洋', d.opd, 'RH0105'], ['chenjing', '陈静', d.opd, 'RH0106'], ['zhaoli', '赵丽', d.fin, 'RH0401'],
  ]) {
    users[username] = await sys.api.post('/api/v1/users', { username, name, department_id, employee_no })
    const a = await Api.login(base, username, users[username].initial_password)
    await a.post('/api/v1/auth/password', { old_password: users[username].initial_password, new_password: PASSWORD })
  }
  // Roles: the built-in 资产管理员 for the IT department's 周杰 and for 陈静 of the outpatient
  // department; a read-only 设备档案查看 for 赵丽 of finance; department names for the pickers.
  await sec.api.post('/api/v1/auth/reauth', { password: PASSWORD })
  const roles = (await sec.api.get('/api/v1/roles')).items
  const manager = roles.find((r) => r.code === 'asset_manager').id
  const viewer = await sec.api.post('/api/v1/roles', { code: 'asset_viewer', name: '设备档案查看', scope: 'all', permissions: ['assets:equipment:read'] })
  const names = await sec.api.post('/api/v1/roles', { code: 'dept_names', name: '部门名称查看', scope: 'all', permissions: ['org:departments:read'] })
  for (const [username, ids] of [['zhoujie', [manager]], ['chenjing', [manager]], ['zhaoli', [viewer.id]], ['wanglei', []], ['liuyang', []]]) {
    await sec.api.put(`/api/v1/users/${users[username].id}/roles`, { role_ids: [...ids, names.id] })
  }
  // The archive: equipment in most of its states, filed by the IT department.
  const it = await Api.login(base, 'zhoujie', PASSWORD)
  const asset = (body) => it.post('/api/v1/assets', { department_id: d.it, repairer_id: users.wanglei.id, ...body })
  const step = (a, action, extra = {}) => it.post(`/api/v1/assets/${a.id}/actions`, { action, ...extra })
  const a = {}
  a.desktop = await asset({ asset_tag: 'IT-2023-0007', category: 'desktop', name: '门诊部挂号收费电脑', model: '联想 ThinkCentre M920t', serial: 'PC0X7Y2K', specs: 'i5-9500 / 16 GB / 512 GB SSD / 23.8 英寸显示器', supplier: '北京联想信息产品有限公司', purchase_date: '2023-03-15', warranty_end: '2026-03-14', purchase_cost: '5280.00', status: 'in_stock', location: '信息管理部库房' })
  await step(a.desktop, 'issue', { custodian_id: users.liuyang.id, location: '门诊楼 1 楼挂号窗口', note: '挂号窗口 3 号位' })
  a.printer = await asset({ asset_tag: 'IT-2023-0012', category: 'printer', name: '门诊部激光打印机', model: 'HP LaserJet Pro M404dn', serial: 'VNB3K21874', purchase_date: '2023-05-08', warranty_end: '2024-05-07', purchase_cost: '2199.00', status: 'in_stock' })
  await step(a.printer, 'issue', { custodian_id: users.liuyang.id, location: '门诊楼 2 楼护士站' })
  await step(a.printer, 'repair', { note: '卡纸，进纸器异响' })
  a.server = await asset({ asset_tag: 'IT-2024-0031', category: 'server', name: 'HIS 数据库服务器', model: 'Dell PowerEdge R740', serial: '7G3XKQ2', specs: '2 × Xeon Silver 4214 / 128 GB / 4 × 1.2 TB SAS', purchase_date: '2024-01-20', warranty_end: '2029-01-19', purchase_cost: '68500.00', status: 'in_stock', location: '数据中心机房 A 排 03 柜' })
  await step(a.server, 'issue', { custodian_id: users.wanglei.id })
  await asset({ asset_tag: 'IT-2025-0102', category: 'laptop', name: '财务部笔记本电脑', model: '联想 ThinkPad T14 Gen 5', purchase_date: '2025-06-01', purchase_cost: '7999.00', supplier: '北京联想信息产品有限公司' })
  a.switch = await asset({ asset_tag: 'IT-2022-0003', category: 'network', name: '门诊楼接入交换机', model: '华为 S5735-L48T4S-A', serial: '2102353VKR10N4000123', purchase_date: '2022-09-10', warranty_end: '2025-09-09', purchase_cost: '3650.00', status: 'in_stock', location: '门诊楼 1 楼弱电间' })
  await step(a.switch, 'issue', { custodian_id: users.wanglei.id })
  a.old = await asset({ asset_tag: 'IT-2021-0045', category: 'desktop', name: '住院部护士站电脑', model: '戴尔 OptiPlex 7070', purchase_date: '2021-04-02', warranty_end: '2024-04-01', purchase_cost: '4680.00', status: 'in_stock' })
  await step(a.old, 'issue', { custodian_id: users.liuyang.id })
  await step(a.old, 'idle', { location: '信息管理部库房', note: '护士站更换一体机' })
  a.dispose = await asset({ asset_tag: 'IT-2019-0018', category: 'printer', name: '财务部针式打印机', model: '爱普生 LQ-630K', purchase_date: '2019-07-11', warranty_end: '2020-07-10', purchase_cost: '1580.00', status: 'in_stock' })
  await step(a.dispose, 'dispose', { note: '打印头损坏，维修价值低' })
  a.scrapped = await asset({ asset_tag: 'IT-2016-0009', category: 'storage_medium', name: '备份移动硬盘', model: '希捷 2 TB', purchase_date: '2016-02-18', purchase_cost: '699.00', status: 'in_stock' })
  await step(a.scrapped, 'dispose')
  // IT-6: a write-off only through the disposal approval; here the asset manager approves it.
  await sys.api.post('/api/v1/workflow/definitions', {
    key: 'assets.disposal', name: '设备报废/出售', form_type: 'assets.disposal', allow_self_approval: true,
    graph: {
      nodes: [{ id: 'start', kind: 'start' }, { id: 'ok', kind: 'approval', name: '审批', approvers: [{ rule: 'user', user_id: users.zhoujie.id }] }, { id: 'end', kind: 'end' }],
      edges: [{ from: 'start', to: 'ok' }, { from: 'ok', to: 'end' }],
    },
  })
  const disposal = await it.post('/api/v1/workflow/instances', { definition_key: 'assets.disposal', subject_id: a.scrapped.id, form: { method: 'scrap', reason: '坏道，数据已消磁' } })
  await it.post(`/api/v1/workflow/tasks/${disposal.tasks.find((t) => t.status === 'pending').id}/approve`, { comment: '同意' })
  await asset({ asset_tag: 'IT-2024-0088', category: 'mobile', name: '移动护理终端', model: '华为 MatePad 11', serial: 'HMP11X0088', purchase_date: '2024-11-05', warranty_end: '2025-11-04', purchase_cost: '2499.00', status: 'in_stock', location: '信息管理部库房' })
  // IT-1: a purchase request goes to the admin/HR specialist (the head of 行政人事部), then to
  // company approval (the head of 总裁办).
  d.hr = await dept('XZ', '行政人事部', hq, 'admin_hr')
  d.po = await dept('ZC', '总裁办', hq, 'president_office')
  for (const [username, name, department_id, employee_no] of [['hanmei', '韩梅', d.hr, 'RH0201'], ['tangwei', '唐伟', d.po, 'RH0001']]) {
    users[username] = await sys.api.post('/api/v1/users', { username, name, department_id, employee_no })
    const u = await Api.login(base, username, users[username].initial_password)
    await u.post('/api/v1/auth/password', { old_password: users[username].initial_password, new_password: PASSWORD })
    const dep = await sys.api.get(`/api/v1/departments/${department_id}`)
    await sys.api.req('PATCH', `/api/v1/departments/${department_id}`, { head_user_id: users[username].id }, { 'If-Match': dep.etag })
  }
  await sys.api.post('/api/v1/workflow/definitions', {
    key: 'assets.procurement', name: '设备采购审批', form_type: 'assets.procurement',
    graph: {
      nodes: [{ id: 'start', kind: 'start' }, { id: 'hr', kind: 'approval', name: '行政人事专员审核', approvers: [{ rule: 'department_kind', kind: 'admin_hr' }] },
        { id: 'company', kind: 'approval', name: '公司审批', approvers: [{ rule: 'department_kind', kind: 'president_office' }] }, { id: 'end', kind: 'end' }],
      edges: [{ from: 'start', to: 'hr' }, { from: 'hr', to: 'company' }, { from: 'company', to: 'end' }],
    },
  })
  return { sys, sec, it, depts: d, users, assets: a }
}

describe('equipment archive pages', () => {
  before(async () => {
    assert.ok(fs.existsSync(path.join(staticDir, 'index.html')), 'web/dist is missing: run npm run build in web/')
    server = await startServer({ repo, bin, staticDir })
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

  test('the IT asset manager filters the archive and registers a laptop, checked beside the fields first', async () => {
    const page = await newPage('it')
    await loginAs(page, 'zhoujie')
    const menu = await page.textContent('.side-menu')
    assert.ok(menu.includes('资产管理') && menu.includes('设备档案'), menu)
    await page.click('[data-test=menu-assets]')
    await waitList(page, 'assets')
    assert.equal(await page.textContent('[data-list=assets] [data-test=pager-total]'), '共 9 条')
    const rowOf = (tag) => page.locator('[data-list=assets] .el-table__body tr').filter({ hasText: tag })
    assert.equal(await rowOf('IT-2023-0012').locator('[data-status=in_repair]').textContent(), '维修中')
    assert.equal(await rowOf('IT-2021-0045').locator('[data-status=idle]').textContent(), '闲置')
    assert.match(await rowOf('IT-2016-0009').getAttribute('class'), /row-muted/, 'scrapped equipment is greyed')
    assert.match(await rowOf('IT-2023-0007').textContent(), /门诊部.*刘洋/)
    assert.equal(await rowOf('IT-2023-0012').locator('.warranty-expired').count(), 1, 'an ended warranty is red')
    await shots.take(page, 'list')

    // By state, then by model; the filters go to the server.
    await page.click('[data-test=asset-status-filter]')
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/assets?') && r.url().includes('status=in_use')),
      pick(page, '在用'),
    ])
    await waitList(page, 'assets')
    assert.equal(await page.textContent('[data-list=assets] [data-test=pager-total]'), '共 3 条')
    await page.click('[data-test=asset-reset]')
    await waitList(page, 'assets')
    await page.fill('[data-test=asset-q]', 'ThinkPad')
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/assets?') && r.url().includes('q=ThinkPad')),
      page.press('[data-test=asset-q]', 'Enter'),
    ])
    await waitList(page, 'assets')
    assert.equal(await page.textContent('[data-list=assets] [data-test=pager-total]'), '共 1 条')
    await page.click('[data-test=asset-reset]')
    await waitList(page, 'assets')

    // Register: the required fields and the amount are checked before anything is sent.
    await page.click('[data-test=asset-register]')
    await page.waitForSelector('[data-test=asset-form]')
    await page.fill('[data-test=asset-cost] input, input[data-test=asset-cost]', '6,299.999')
    await page.click('[data-test=asset-save]')
    await page.waitForSelector('[data-test=field-asset_tag] .el-form-item__error:has-text("请填写资产编号")')
    await page.waitForSelector('[data-test=field-category] .el-form-item__error:has-text("请选择设备类别")')
    await page.waitForSelector('[data-test=field-name] .el-form-item__error:has-text("请填写设备名称")')
    await page.waitForSelector('[data-test=field-purchase_cost] .el-form-item__error:has-text("最多两位小数")')
    await shots.take(page, 'register-errors')
    // A tag already in the archive: the API's conflict beside the tag.
    await page.fill('[data-test=field-asset_tag] input', 'IT-2023-0007')
    await page.click('[data-test=field-category] .el-select__wrapper')
    await pick(page, '笔记本电脑')
    await page.fill('[data-test=field-name] input', '门诊部护士站笔记本电脑')
    await page.fill('[data-test=field-model] input', '联想 ThinkPad X1 Carbon Gen 12')
    await page.fill('[data-test=field-serial] input', 'PF4X1C12A')
    await page.fill('[data-test=field-specs] textarea', 'Ultra 7 155U / 32 GB / 1 TB SSD / 14 英寸')
    await page.fill('[data-test=field-supplier] input', '北京联想信息产品有限公司')
    await page.fill('[data-test=field-purchase_cost] input', '12,999.00')
    await page.fill('[data-test=field-purchase_date] input', '2025-09-01')
    await page.keyboard.press('Enter')
    await page.fill('[data-test=field-warranty_end] input', '2028-08-31')
    await page.keyboard.press('Enter')
    await page.fill('[data-test=field-location] input', '信息管理部库房')
    await pickUser(page, '[data-test=field-repairer_id]', '王磊')
    await page.click('[data-test=asset-initial-status] >> text=在库')
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/assets') && r.request().method() === 'POST'),
      page.click('[data-test=asset-save]'),
    ])
    assert.equal(refused.status(), 409)
    await page.waitForSelector('[data-test=field-asset_tag] .el-form-item__error:has-text("该资产编号已被使用")')
    await page.fill('[data-test=field-asset_tag] input', 'IT-2025-0150')
    await shots.take(page, 'register')
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/assets') && r.request().method() === 'POST'),
      page.click('[data-test=asset-save]'),
    ])
    assert.equal(res.status(), 201)
    const created = await res.json()
    assert.equal(created.purchase_cost, '12999.00')
    assert.equal(created.purchase_date, '2025-09-01')
    assert.equal(created.warranty_end, '2028-08-31')
    assert.equal(created.repairer_id, data.users.wanglei.id)
    assert.equal(created.department_name, '信息管理部', 'filed in the registering person\'s department by default')
    data.laptop = created
    await page.waitForURL(`**/assets/${created.id}`)
    await page.waitForSelector('[data-test=asset-status] >> text=在库')
    assert.equal(await page.textContent('[data-test=asset-repairer]'), '王磊')
    assert.equal(await page.textContent('[data-test=asset-cost]'), '¥12,999.00')
  })

  test('the laptop is issued to 刘洋, sent to repair, out to a repair centre and back, and the history says so', async () => {
    const page = ctxs.it.pages()[0]
    // Only the steps an asset in stock may take.
    for (const a of ['issue', 'repair', 'external_repair', 'dispose']) assert.ok(await page.isVisible(`[data-test=action-${a}]`), `${a} is offered in stock`)
    for (const a of ['receive', 'idle', 'repaired', 'cancel_disposal', 'scrap', 'sell']) assert.equal(await page.locator(`[data-test=action-${a}]`).count(), 0, `${a} is not offered in stock`)

    await page.click('[data-test=action-issue]')
    await page.waitForSelector('[data-test=action-dialog] >> text=将设备交给保管人使用')
    await page.click('[data-test=action-submit]')
    await page.waitForSelector('[data-test=action-custodian] .el-form-item__error:has-text("请选择保管人")')
    await pickUser(page, '[data-test=action-custodian]', '刘洋')
    await page.waitForSelector('[data-test=action-custodian] >> text=领用后，设备将转至保管人所在部门：门诊部')
    await page.fill('[data-test=action-location-input] input, input[data-test=action-location-input]', '门诊楼 2 楼护士站')
    await page.fill('[data-test=action-note-input] textarea, textarea[data-test=action-note-input]', '护士站移动办公')
    await shots.take(page, 'issue')
    assert.equal((await act(page, 'issue')).status(), 200)
    await page.waitForSelector('[data-test=asset-status] >> text=在用')
    assert.equal(await page.textContent('[data-test=asset-custodian]'), '刘洋')
    assert.equal(await page.textContent('[data-test=asset-department]'), '门诊部', 'the asset follows its custodian\'s department')
    assert.equal(await page.textContent('[data-test=asset-location]'), '门诊楼 2 楼护士站')
    for (const a of ['idle', 'repair', 'external_repair', 'dispose']) assert.ok(await page.isVisible(`[data-test=action-${a}]`), `${a} is offered in use`)
    assert.equal(await page.locator('[data-test=action-issue]').count(), 0, 'an asset in use is not issued again')

    await page.click('[data-test=action-repair]')
    await page.fill('[data-test=action-note-input] textarea, textarea[data-test=action-note-input]', '屏幕间歇性闪烁')
    await act(page, 'repair')
    await page.waitForSelector('[data-test=asset-status] >> text=维修中')
    assert.ok(await page.isVisible('[data-test=action-repaired]'))
    assert.equal(await page.locator('[data-test=action-repair]').count(), 0)

    // 周杰 works in 信息管理部: he may send it out (IT-4).
    await page.click('[data-test=action-external_repair]')
    await page.fill('[data-test=action-location-input] input, input[data-test=action-location-input]', '联想授权服务站（海淀）')
    await page.fill('[data-test=action-note-input] textarea, textarea[data-test=action-note-input]', '需更换屏幕排线')
    assert.equal((await act(page, 'external_repair')).status(), 200)
    await page.waitForSelector('[data-test=asset-status] >> text=送外维修中')
    await page.click('[data-test=action-repaired]')
    await page.fill('[data-test=action-cost-input] input, input[data-test=action-cost-input]', '12.345')
    await page.click('[data-test=action-submit]')
    await page.waitForSelector('[data-test=action-cost] .el-form-item__error:has-text("最多两位小数")')
    await page.fill('[data-test=action-cost-input] input, input[data-test=action-cost-input]', '350')
    await page.fill('[data-test=action-location-input] input, input[data-test=action-location-input]', '门诊楼 2 楼护士站')
    await page.fill('[data-test=action-note-input] textarea, textarea[data-test=action-note-input]', '已更换屏幕排线')
    assert.equal((await act(page, 'repaired')).status(), 200)
    await page.waitForSelector('[data-test=asset-status] >> text=在用')
    assert.equal(await page.textContent('[data-test=asset-custodian]'), '刘洋', 'back to its custodian')

    // An edit with the asset's etag: the location moves, written to the history too.
    await page.click('[data-test=asset-edit]')
    await page.waitForSelector('[data-test=asset-form]')
    assert.equal(await page.inputValue('[data-test=field-asset_tag] input'), 'IT-2025-0150')
    await page.fill('[data-test=field-location] input', '门诊楼 3 楼护士站')
    const [patch] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/v1/assets/${data.laptop.id}`) && r.request().method() === 'PATCH'),
      page.click('[data-test=asset-save]'),
    ])
    assert.equal(patch.status(), 200)
    assert.ok(patch.request().headers()['if-match'], 'the edit names the version it changes')
    assert.deepEqual(patch.request().postDataJSON(), { location: '门诊楼 3 楼护士站' }, 'only what changed is sent')
    await page.waitForSelector('[data-test=asset-location] >> text=门诊楼 3 楼护士站')

    // The history, newest first: every step with who, what and how much.
    await page.waitForSelector('[data-test=history-item][data-kind=edited]')
    const items = page.locator('[data-test=history-item]')
    const titles = await items.locator('[data-test=history-title]').allTextContents()
    assert.deepEqual(titles, ['修改档案信息', '维修完成', '送外维修', '送修', '领用', '登记入档'])
    const issued = await page.locator('[data-test=history-item][data-action=issue]').textContent()
    assert.ok(issued.includes('保管人：无 → 刘洋') && issued.includes('存放位置：信息管理部库房 → 门诊楼 2 楼护士站') && issued.includes('护士站移动办公') && issued.includes('周杰'), issued)
    assert.match(await page.locator('[data-test=history-item][data-action=repaired]').textContent(), /维修费用 ¥350\.00.*已更换屏幕排线/)
    assert.match(await page.locator('[data-test=history-item][data-action=external_repair]').textContent(), /存放位置：门诊楼 2 楼护士站 → 联想授权服务站（海淀）/)
    assert.match(await page.locator('[data-test=history-item][data-action=repaired]').textContent(), /存放位置：联想授权服务站（海淀） → 门诊楼 2 楼护士站/)
    assert.match(await page.locator('[data-test=history-item][data-kind=created]').textContent(), /在库.*购置金额 ¥12,999\.00/)
    assert.match(await page.locator('[data-test=history-item][data-kind=edited]').textContent(), /存放位置：门诊楼 2 楼护士站 → 门诊楼 3 楼护士站/)
    await page.waitForSelector('.el-message', { state: 'detached', timeout: 8000 }).catch(() => {})
    await shots.take(page, 'detail')
    await shots.take(page, 'detail-full', { fullPage: true })
  })

  test('a reader without the write permission is offered no step and no edit', async () => {
    const page = await newPage('reader')
    await loginAs(page, 'zhaoli')
    await page.click('[data-test=menu-assets]')
    await waitList(page, 'assets')
    assert.equal(await page.locator('[data-test=asset-register]').count(), 0, 'no register button')
    await page.click(`[data-test=asset-IT-2025-0150]`)
    await page.waitForSelector('[data-test=asset-status] >> text=在用')
    await page.waitForSelector('[data-test=asset-read-only]')
    assert.equal(await page.locator('[data-test^=action-]').count(), 0, 'no lifecycle step')
    assert.equal(await page.locator('[data-test=asset-edit]').count(), 0, 'no edit')
    await page.waitForSelector('[data-test=history-item][data-action=issue] >> text=保管人：无 → 刘洋')
    await shots.take(page, 'read-only')
    // The API agrees.
    const reader = await Api.login(server.base, 'zhaoli', PASSWORD)
    await assert.rejects(reader.post(`/api/v1/assets/${data.laptop.id}/actions`, { action: 'idle' }), (e) => e.status === 403)
  })

  test('an asset manager outside the IT department is told that only the IT department sends equipment out', async () => {
    const page = await newPage('opd')
    await loginAs(page, 'chenjing')
    await page.goto(`${server.base}/assets/${data.assets.desktop.id}`)
    await page.waitForSelector('[data-test=asset-status] >> text=在用')
    await page.click('[data-test=action-external_repair]')
    await page.waitForSelector('[data-test=action-dialog] >> text=只有信息管理部的人员可以将设备送外维修')
    await page.fill('[data-test=action-location-input] input, input[data-test=action-location-input]', '中关村电脑维修中心')
    const res = await act(page, 'external_repair')
    assert.equal(res.status(), 403)
    assert.equal((await res.json()).code, 'it_department_only')
    await page.waitForSelector('[data-test=action-problem] >> text=只有信息管理部可以')
    await shots.take(page, 'external-refused')
    await page.click('[data-test=action-dialog] .el-dialog__footer button:has-text("取消")')
    assert.equal(await page.textContent('[data-test=asset-status]'), '在用', 'nothing changed')
    assert.equal((await data.it.get(`/api/v1/assets/${data.assets.desktop.id}`)).status, 'in_use')

    // The same refusal for an English reader.
    await page.click('.header .lang-button')
    await page.click('[data-test=lang-en]')
    await page.waitForSelector('[data-test=asset-status] >> text=In use')
    await page.click('[data-test=action-external_repair]')
    await page.fill('[data-test=action-location-input] input, input[data-test=action-location-input]', 'Zhongguancun repair centre')
    const again = await act(page, 'external_repair')
    assert.equal(again.request().headers()['accept-language'], 'en')
    await page.waitForSelector('[data-test=action-problem] >> text=Only the IT department may')
    await shots.take(page, 'external-refused-en')
    await page.keyboard.press('Escape')
    await page.click('.header .lang-button')
    await page.click('[data-test=lang-zh-CN]')
  })

  test('no blank page when the API fails or the asset does not exist; the pages at phone width', async () => {
    const page = ctxs.it.pages()[0]
    const listUrl = (u) => u.pathname === '/api/v1/assets'
    await page.route(listUrl, (r) => r.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'service_unavailable' }) }))
    await page.goto(`${server.base}/assets`)
    await page.waitForSelector('[data-list=assets] [data-test=problem]')
    await page.unroute(listUrl)
    await page.click('[data-list=assets] [data-test=problem] button')
    await waitList(page, 'assets')
    assert.equal(await page.textContent('[data-list=assets] [data-test=pager-total]'), '共 10 条')
    await page.goto(`${server.base}/assets/999999`)
    await page.waitForSelector('[data-test=asset-not-found] >> text=页面不存在')

    await page.setViewportSize(PHONE)
    await page.goto(`${server.base}/assets`)
    await waitList(page, 'assets')
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no sideways scrolling of the page')
    await shots.take(page, 'phone-list')
    await page.goto(`${server.base}/assets/${data.laptop.id}`)
    await page.waitForSelector('[data-test=history-item]')
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no sideways scrolling of the page')
    await shots.take(page, 'phone-detail')
    await page.click('[data-test=action-idle]')
    await page.waitForSelector('[data-test=action-dialog]')
    await shots.take(page, 'phone-action')
    await page.keyboard.press('Escape')
    await page.setViewportSize(DESKTOP)
  })
  test('a nurse asks to buy two laptops: the admin/HR specialist, then the president\'s office approve; a bystander sees nothing (IT-1)', async () => {
    const nurse = await newPage('nurse')
    await loginAs(nurse, 'liuyang')
    await nurse.click('[data-test=menu-approval-start]')
    await nurse.click('[data-test="process-assets.procurement"]')
    await nurse.waitForSelector('[data-test=start-form]')
    // The requesting department starts as the nurse's own; the rest is checked before sending.
    await nurse.waitForSelector('[data-test=field-department_id] >> text=门诊部')
    await nurse.click('[data-test=start-submit]')
    await nurse.waitForSelector('[data-test=field-category] .el-form-item__error:has-text("请填写类别")')
    await nurse.waitForSelector('[data-test=field-item] .el-form-item__error:has-text("请填写设备名称")')
    await nurse.waitForSelector('[data-test=field-reason] .el-form-item__error:has-text("请填写采购理由")')
    await nurse.click('[data-test=field-category] .el-select__wrapper')
    await pick(nurse, '笔记本电脑')
    await nurse.fill('[data-test=field-item] input', '护士站笔记本电脑')
    await nurse.fill('[data-test=field-model] input', '联想 ThinkPad E14 Gen 6')
    await nurse.fill('[data-test=field-quantity] input', '2')
    await nurse.fill('[data-test=field-unit_price] input', '5699')
    await nurse.fill('[data-test=field-supplier] input', '北京联想信息产品有限公司')
    await nurse.fill('[data-test=field-reason] textarea', '门诊部新增两个护士站，需移动录入医嘱与护理记录')
    await nurse.click('[data-test=start-form]') // the number inputs take their value on blur
    await shots.take(nurse, 'procurement-start')
    const [started] = await Promise.all([
      nurse.waitForResponse((r) => r.url().endsWith('/api/v1/workflow/instances') && r.request().method() === 'POST'),
      nurse.click('[data-test=start-submit]'),
    ])
    assert.equal(started.status(), 201)
    assert.deepEqual(started.request().postDataJSON().form, {
      department_id: data.depts.opd, category: 'laptop', item: '护士站笔记本电脑', model: '联想 ThinkPad E14 Gen 6', quantity: 2,
      unit_price: 5699, supplier: '北京联想信息产品有限公司', reason: '门诊部新增两个护士站，需移动录入医嘱与护理记录',
    })
    const inst = await started.json()
    await nurse.waitForURL(`**/approvals/instances/${inst.id}`)
    await nurse.waitForSelector('[data-test=instance-status] >> text=审批中')
    assert.equal(await nurse.textContent('[data-test=value-category]'), '笔记本电脑')
    assert.ok(await nurse.isVisible('[data-test=flow-node-hr] >> text=韩梅'), 'the first step is the admin/HR specialist\'s')

    // The president's office is not asked yet, and a colleague of the nurse never is.
    const boss = await newPage('boss')
    await loginAs(boss, 'tangwei')
    await waitList(boss, 'pending')
    assert.ok(await boss.isVisible('[data-list=pending] >> text=暂无待您审批的申请'))
    assert.equal(await boss.locator('[data-test=todo-count]').count(), 0)
    const bystander = await newPage('bystander')
    await loginAs(bystander, 'chenjing')
    await waitList(bystander, 'pending')
    assert.ok(await bystander.isVisible('[data-list=pending] >> text=暂无待您审批的申请'))
    await bystander.goto(`${server.base}/approvals/instances/${inst.id}`)
    await bystander.waitForSelector('[data-test=problem] >> text=记录不存在或无权查看')
    await bystander.context().close()
    delete ctxs.bystander

    const hr = await newPage('hr')
    await loginAs(hr, 'hanmei')
    await waitList(hr, 'pending')
    assert.equal(await hr.textContent('[data-test=todo-count]'), '1', 'the sidebar badge')
    const rows = await hr.locator('[data-list=pending] .el-table__body tr').allTextContents()
    assert.equal(rows.length, 1)
    assert.match(rows[0], /采购：护士站笔记本电脑 × 2.*行政人事专员审核.*刘洋/)
    await shots.take(hr, 'procurement-todo')
    await hr.click('[data-test=todo-handle]')
    await hr.waitForSelector('[data-test=task-panel] >> text=待您审批：行政人事专员审核')
    assert.equal(await hr.textContent('[data-test=value-unit_price]'), '5,699.00')
    // 韩梅 may not read the organisation, yet the form names the department asking.
    assert.equal(await hr.textContent('[data-test=value-department_id]'), '门诊部')
    assert.equal(await hr.textContent('[data-test=instance-department]'), '门诊部')
    await approveHere(hr, '预算内，同意')
    await hr.waitForSelector('[data-test=flow-node-company] >> text=唐伟')

    await boss.reload()
    await waitList(boss, 'pending')
    assert.equal(await boss.textContent('[data-test=todo-count]'), '1')
    await boss.click('[data-test=todo-handle]')
    await boss.waitForSelector('[data-test=task-panel] >> text=待您审批：公司审批')
    await approveHere(boss, '同意采购')
    await boss.waitForSelector('[data-test=instance-status] >> text=已通过')
    await boss.waitForSelector('[data-test=history] >> text=预算内，同意')
    await shots.take(boss, 'procurement-approved')

    // Approved: two laptops on order for 门诊部 (the purchase task goes to the IT department's head).
    const ordered = (await data.it.get('/api/v1/assets?status=ordered&limit=50')).items.filter((x) => x.notes === `采购申请 #${inst.id}`)
    assert.equal(ordered.length, 2)
    for (const x of ordered) {
      assert.equal(x.model, '联想 ThinkPad E14 Gen 6')
      assert.equal(x.purchase_cost, '5699.00')
      assert.equal(x.department_id, data.depts.opd)
    }
    const page = ctxs.it.pages()[0]
    await page.goto(`${server.base}/assets`)
    await waitList(page, 'assets')
    await page.click('[data-test=asset-status-filter]')
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/assets?') && r.url().includes('status=ordered')),
      pick(page, '待到货'),
    ])
    await waitList(page, 'assets')
    assert.equal((await page.locator('[data-list=assets] .el-table__body tr').filter({ hasText: '护士站笔记本电脑' }).count()), 2)
    await shots.take(page, 'procurement-ordered')
  })

  test('a printer pending disposal is written off through the disposal approval started from its page (IT-6)', async () => {
    const page = ctxs.it.pages()[0]
    await page.goto(`${server.base}/assets/${data.assets.dispose.id}`)
    await page.waitForSelector('[data-test=asset-status] >> text=待处置')
    assert.equal(await page.locator('[data-test=action-scrap]').count(), 0, 'no plain write-off')
    await page.click('[data-test=start-disposal]')
    await page.waitForSelector('[data-test=start-form]')
    assert.match(page.url(), /form_type=assets\.disposal/)
    await page.waitForSelector('[data-test=field-subject] >> text=IT-2019-0018')
    await page.click('[data-test=field-method] >> text=报废')
    await page.fill('[data-test=field-reason] textarea', '打印头损坏，厂家已停产配件')
    await shots.take(page, 'disposal-start')
    const [started] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/workflow/instances') && r.request().method() === 'POST'),
      page.click('[data-test=start-submit]'),
    ])
    assert.equal(started.status(), 201)
    assert.equal(started.request().postDataJSON().subject_id, data.assets.dispose.id)
    await page.waitForURL(/\/approvals\/instances\/\d+$/)
    await page.waitForSelector('[data-test=instance-subject] >> text=IT-2019-0018')
    assert.equal(await page.textContent('[data-test=value-method]'), '报废')
    await approveHere(page, '同意报废')
    await page.waitForSelector('[data-test=instance-status] >> text=已通过')
    await page.click('[data-test=instance-subject]')
    await page.waitForURL(`**/assets/${data.assets.dispose.id}`)
    await page.waitForSelector('[data-test=asset-status] >> text=已报废')
    assert.match(await page.locator('[data-test=history-item][data-action=scrap]').textContent(), /报废.*处置审批 #\d+：打印头损坏，厂家已停产配件/)
    assert.equal(await page.locator('[data-test=start-disposal]').count(), 0)
  })
})
