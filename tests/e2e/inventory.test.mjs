// Browser tests of the IT inventory, IP address management, software policy and violations pages
// (issues #8 and #7, IT-5 and IT-7): the IT department's 周杰 adds a subnet (an overlapping one is
// refused beside the CIDR), allocates an address to a desktop (one inside the DHCP range is
// refused beside the address) and reserves the first free one; 陈静 of the outpatient department,
// who may plan addresses but is not in IT, is told in Chinese and in English that only the IT
// department may; 周杰 creates an agent token, seen once, uploads an inventory file with a game on
// it, links the queued machine to its asset, and reads the machine, its addresses and its
// violations on the asset's page and in the register; the custodian 刘洋 sees it among "my
// violations", and the department head 张敏 resolves it there. The dashboard's asset and
// violation charts, quietly empty when their summaries fail; the pages at phone width. Its own
// `custos serve` (fresh SQLite database), data seeded through the API; screenshots as
// inventory-*.png in build/screenshots/.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startServer } from './lib/server.mjs'
import { Api, PASSWORD, activateAdmin } from './lib/api.mjs'
import { launch, Shots, DESKTOP, PHONE } from './lib/browser.mjs'
import { ConsoleUi, pick, pickAsset, pickUser, waitList } from './lib/ui.mjs'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const bin = process.env.CUSTOS_BIN || path.join(repo, 'build', 'custos')
const staticDir = path.join(repo, 'web', 'dist')
const shots = new Shots(path.join(repo, 'build', 'screenshots'), { prefix: 'inventory-' })

const ALL = ['assets:equipment:read', 'assets:equipment:write', 'assets:inventory:read', 'assets:inventory:write',
  'assets:network:read', 'assets:network:write', 'assets:violations:read', 'assets:violations:write']

let server, browser, data
const ui = new ConsoleUi()
const { ctxs, newPage, loginAs } = ui

const post = (page, url, click) => Promise.all([
  page.waitForResponse((r) => r.url().includes(url) && r.request().method() === 'POST'),
  page.click(click),
]).then(([r]) => r)

const noSideways = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)

// An agent's inventory as fusioninventory-agent --local writes it (tests/api/test_inventory.py).
function inventoryXml({ device, serial = '', mac, addresses = [], software = [] }) {
  const nets = addresses.map((a) => `<NETWORKS><DESCRIPTION>eth0</DESCRIPTION><MACADDR>${mac}</MACADDR><IPADDRESS>${a}</IPADDRESS><VIRTUALDEV>0</VIRTUALDEV></NETWORKS>`).join('')
  const soft = software.map(([n, p, v]) => `<SOFTWARES><NAME>${n}</NAME><PUBLISHER>${p}</PUBLISHER><VERSION>${v}</VERSION></SOFTWARES>`).join('')
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8" ?><REQUEST><CONTENT>`
    + `<HARDWARE><NAME>${device}</NAME><MEMORY>16384</MEMORY><OSNAME>Microsoft Windows 10 专业版</OSNAME><PROCESSORT>Intel(R) Core(TM) i5-9500 CPU @ 3.00GHz</PROCESSORT></HARDWARE>`
    + `<BIOS><SSN>${serial}</SSN><SMANUFACTURER>LENOVO</SMANUFACTURER><SMODEL>ThinkCentre M920t</SMODEL></BIOS>`
    + `${nets}${soft}</CONTENT><DEVICEID>${device}-2026-12-01-09-00-00</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>`, 'utf8')
}

async function setupData() {
  const { base, accounts } = server
  const sys = await activateAdmin(base, accounts.system)
  const sec = await activateAdmin(base, accounts.security)
  const dept = async (code, name, parent_id, kind) => (await sys.api.post('/api/v1/departments', { code, name, ...(parent_id ? { parent_id } : {}), ...(kind ? { kind } : {}) })).id
  const hq = await dept('HQ', '仁和医院')
  const d = { hq, it: await dept('XX', '信息管理部', hq, 'it'), opd: await dept('OPD', '门诊部', hq) }
  const users = {}
  for (const [username, name, department_id, employee_no] of [
    ['zhoujie', '周杰', d.it, 'RH0801'], ['chenjing', '陈静', d.opd, 'RH0106'], ['liuyang', '刘洋', d.opd, 'RH0105'], ['zhangmin', '张敏', d.opd, 'RH0101'],
  ]) {
    users[username] = await sys.api.post('/api/v1/users', { username, name, department_id, employee_no })
    const a = await Api.login(base, username, users[username].initial_password)
    await a.post('/api/v1/auth/password', { old_password: users[username].initial_password, new_password: PASSWORD })
  }
  // 张敏 heads the outpatient department: violations of its staff are hers to deal with.
  const opd = await sys.api.get(`/api/v1/departments/${d.opd}`)
  await sys.api.req('PATCH', `/api/v1/departments/${d.opd}`, { head_user_id: users.zhangmin.id }, { 'If-Match': opd.etag })
  // Roles: every assets permission for the IT department's 周杰; the archive and the address plan
  // for 陈静 of the outpatient department (not IT); 刘洋 and 张敏 hold none of them.
  await sec.api.post('/api/v1/auth/reauth', { password: PASSWORD })
  const role = (code, name, permissions) => sec.api.post('/api/v1/roles', { code, name, scope: 'all', permissions })
  const itRole = await role('it_assets', '信息设备全权', [...ALL, 'org:departments:read'])
  const planner = await role('opd_planner', '门诊部地址规划', ['assets:equipment:read', 'assets:network:read', 'assets:network:write', 'org:departments:read'])
  await sec.api.put(`/api/v1/users/${users.zhoujie.id}/roles`, { role_ids: [itRole.id] })
  await sec.api.put(`/api/v1/users/${users.chenjing.id}/roles`, { role_ids: [planner.id] })

  const it = await Api.login(base, 'zhoujie', PASSWORD)
  const desktop = await it.post('/api/v1/assets', { asset_tag: 'IT-2024-0101', category: 'desktop', name: '门诊部挂号收费电脑', model: '联想 ThinkCentre M920t', serial: 'PC0X7Y2K', department_id: d.it, status: 'in_stock', location: '信息管理部库房' })
  await it.post(`/api/v1/assets/${desktop.id}/actions`, { action: 'issue', custodian_id: users.liuyang.id, location: '门诊楼 3 楼挂号窗口' })
  const printer = await it.post('/api/v1/assets', { asset_tag: 'IT-2024-0102', category: 'printer', name: '门诊部激光打印机', model: 'HP LaserJet Pro M404dn', department_id: d.it, status: 'in_stock' })
  // The plan so far and the policy: games, attack tools and chat clients are prohibited; the
  // hospital's own WeCom build is allowed.
  const office = await it.post('/api/v1/subnets', { cidr: '10.10.0.0/24', name: '行政楼办公网', vlan: 10, gateway: '10.10.0.1', dhcp_start: '10.10.0.100', dhcp_end: '10.10.0.250' })
  await it.post(`/api/v1/subnets/${office.id}/allocations`, { address: '10.10.0.20', asset_id: printer.id, note: '行政楼 2 楼打印机' })
  await it.post('/api/v1/subnets', { cidr: 'fd00:10::/64', name: '行政楼 IPv6' })
  for (const r of [
    { kind: 'prohibit', category: 'chat', name_pattern: 'QQ*', publisher_pattern: 'Tencent*', note: '即时通讯软件（IT-7）' },
    { kind: 'prohibit', category: 'chat', name_pattern: 'MSN*' },
    { kind: 'prohibit', category: 'hacking', name_pattern: '*Cain*Abel*', note: '口令破解工具' },
    { kind: 'prohibit', category: 'p2p', name_pattern: '*uTorrent*' },
    { kind: 'allow', category: 'chat', name_pattern: '企业微信*', note: '医院统一部署' },
  ]) await it.post('/api/v1/software-rules', r)
  await it.post('/api/v1/approved-proxies', { address: 'proxy.renhe.local:3128', note: '院内上网代理' })
  return { sys, sec, it, depts: d, users, assets: { desktop, printer } }
}

describe('IT inventory, IP addresses and violations pages', () => {
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

  test('the IT department adds a subnet and allocates addresses; conflicts are said beside the fields', async () => {
    const page = await newPage('it')
    await loginAs(page, 'zhoujie')
    const menu = await page.textContent('.side-menu')
    for (const item of ['资产清单采集', 'IP 地址管理', '软件与代理策略', '违规记录', '我的违规待处理']) assert.ok(menu.includes(item), `${item} in ${menu}`)
    await page.click('[data-test=menu-network]')
    await waitList(page, 'subnets')
    assert.equal(await page.textContent('[data-list=subnets] [data-test=pager-total]'), '共 2 条')
    assert.match(await page.locator('[data-list=subnets] .el-table__body tr').filter({ hasText: '10.10.0.0/24' }).textContent(), /行政楼办公网.*DHCP 10\.10\.0\.100 – 10\.10\.0\.250.*已分配 1 \/ 254/)

    // Checked before sending, then the server's overlap beside the CIDR.
    await page.click('[data-test=subnet-create]')
    await page.waitForSelector('[data-test=subnet-dialog] [data-test=field-cidr]')
    await page.fill('[data-test=field-cidr] input', '10.20.0.5/33')
    await page.fill('[data-test=field-vlan] input', '5000')
    await page.click('[data-test=subnet-save]')
    await page.waitForSelector('[data-test=field-cidr] .el-form-item__error:has-text("网段格式如 10.20.0.0/24")')
    await page.waitForSelector('[data-test=field-vlan] .el-form-item__error:has-text("VLAN 为 1 至 4094 的整数")')
    await page.fill('[data-test=field-cidr] input', '10.10.0.128/25')
    await page.fill('[data-test=field-vlan] input', '20')
    const overlap = await post(page, '/api/v1/subnets', '[data-test=subnet-save]')
    assert.equal(overlap.status(), 409)
    assert.equal((await overlap.json()).code, 'address_conflict')
    await page.waitForSelector('[data-test=field-cidr] .el-form-item__error:has-text("该网段与已登记的网段重叠")')
    await page.fill('[data-test=field-cidr] input', '10.20.0.0/24')
    await page.fill('[data-test=field-name] input', '门诊楼 3 层')
    await page.fill('[data-test=field-gateway] input', '10.20.0.1')
    await page.fill('[data-test=field-dhcp_start] input', '10.20.0.100')
    await page.fill('[data-test=field-dhcp_end] input', '10.20.0.199')
    await shots.take(page, 'subnet-dialog')
    const created = await post(page, '/api/v1/subnets', '[data-test=subnet-save]')
    assert.equal(created.status(), 201)
    const subnet = await created.json()
    assert.deepEqual([subnet.family, subnet.vlan, subnet.gateway], [4, 20, '10.20.0.1'])
    data.subnet = subnet

    // Its allocations open: an address in the DHCP range is refused, then one outside it.
    await page.waitForSelector('[data-test=allocations-card] >> text=10.20.0.0/24 的地址分配')
    await page.click('[data-test=allocate]')
    await page.waitForSelector('[data-test=allocation-dialog] >> text=DHCP 地址池 10.20.0.100 – 10.20.0.199 除外')
    await page.fill('[data-test=field-address] input', '10.20.0.150')
    await page.click('[data-test=allocation-save]')
    await page.waitForSelector('[data-test=field-asset_id] .el-form-item__error:has-text("请选择设备")')
    await pickAsset(page, '[data-test=field-asset_id]', 'IT-2024-0101')
    await page.fill('[data-test=field-note] input', '挂号窗口 3 号位')
    const inDhcp = await post(page, `/api/v1/subnets/${subnet.id}/allocations`, '[data-test=allocation-save]')
    assert.equal(inDhcp.status(), 409)
    await page.waitForSelector('[data-test=field-address] .el-form-item__error:has-text("位于 DHCP 地址池内")')
    await shots.take(page, 'allocation-conflict')
    await page.fill('[data-test=field-address] input', '10.20.0.10')
    const ok = await post(page, `/api/v1/subnets/${subnet.id}/allocations`, '[data-test=allocation-save]')
    assert.equal(ok.status(), 201)
    assert.deepEqual(ok.request().postDataJSON(), { kind: 'allocation', address: '10.20.0.10', asset_id: data.assets.desktop.id, note: '挂号窗口 3 号位' })
    await page.waitForSelector('[data-test="alloc-10.20.0.10"]')
    // A reservation without an address: the server picks the first free one.
    await page.click('[data-test=reserve]')
    await page.fill('[data-test=field-note] input', '门诊楼 3 层网关')
    const auto = await post(page, `/api/v1/subnets/${subnet.id}/allocations`, '[data-test=allocation-save]')
    assert.equal(auto.status(), 201)
    assert.equal(auto.request().postDataJSON().address, undefined)
    const reserved = await auto.json()
    await page.waitForSelector(`[data-test="alloc-${reserved.address}"]`)
    const rows = await page.locator('[data-test=allocations] .el-table__body tr').allTextContents()
    assert.equal(rows.length, 2)
    assert.match(rows.find((r) => r.includes('10.20.0.10')), /分配.*IT-2024-0101.*挂号窗口 3 号位.*周杰/)
    assert.match(rows.find((r) => r.includes(reserved.address)), /预留.*门诊楼 3 层网关/)
    await page.waitForSelector(`[data-test=subnet-usage-${subnet.id}] >> text=已分配 2 / 254`)
    await page.waitForSelector('.el-message', { state: 'detached', timeout: 8000 }).catch(() => {})
    await shots.take(page, 'network')
  })

  test('someone outside the IT department is told that only IT plans addresses, in Chinese and in English', async () => {
    const page = await newPage('planner')
    await loginAs(page, 'chenjing')
    const menu = await page.textContent('.side-menu')
    assert.ok(menu.includes('IP 地址管理') && !menu.includes('资产清单采集') && !menu.includes('违规记录'), menu)
    await page.click('[data-test=menu-network]')
    await waitList(page, 'subnets')
    await page.click(`[data-test=subnet-open-${data.subnet.id}]`)
    await page.waitForSelector('[data-test="alloc-10.20.0.10"]')
    await page.click('[data-test=allocate]')
    await page.waitForSelector('[data-test=allocation-dialog] >> text=只有信息管理部的人员可以变更 IP 地址规划')
    await page.fill('[data-test=field-address] input', '10.20.0.11')
    await pickAsset(page, '[data-test=field-asset_id]', 'IT-2024-0101')
    const res = await post(page, '/allocations', '[data-test=allocation-save]')
    assert.equal(res.status(), 403)
    assert.equal((await res.json()).code, 'it_department_only')
    await page.waitForSelector('[data-test=allocation-problem] >> text=只有信息管理部可以执行此操作')
    await shots.take(page, 'refused')
    await page.click('[data-test=allocation-dialog] .el-dialog__footer button:has-text("取消")')

    await page.click('.header .lang-button')
    await page.click('[data-test=lang-en]')
    await page.waitForSelector('.page-title:has-text("IP address management")')
    await page.click('[data-test=subnet-create]')
    await page.fill('[data-test=field-cidr] input', '10.30.0.0/24')
    const again = await post(page, '/api/v1/subnets', '[data-test=subnet-save]')
    assert.equal(again.status(), 403)
    assert.equal(again.request().headers()['accept-language'], 'en')
    await page.waitForSelector('[data-test=subnet-problem] >> text=Only the IT department may do this')
    await shots.take(page, 'refused-en')
    await page.keyboard.press('Escape')
    await page.click('.header .lang-button')
    await page.click('[data-test=lang-zh-CN]')
    assert.equal((await data.it.get(`/api/v1/subnets/${data.subnet.id}/allocations`)).items.length, 2, 'nothing was allocated')
  })

  test('an agent token is shown once; an uploaded inventory waits for review and is linked to its asset', async () => {
    const page = ctxs.it.pages()[0]
    await page.click('[data-test=menu-inventory]')
    await waitList(page, 'queue')
    await page.waitForSelector('[data-list=queue] >> text=暂无待审核的机器')
    await page.click('[data-test=inv-tabs] .el-tabs__item:has-text("采集代理")')
    await waitList(page, 'agents')
    await page.click('[data-test=agent-create]')
    await page.click('[data-test=agent-save]')
    await page.waitForSelector('[data-test=field-agent-name] .el-form-item__error:has-text("请填写名称")')
    await page.fill('[data-test=field-agent-name] input', '门诊楼')
    const res = await post(page, '/api/v1/inventory/agents', '[data-test=agent-save]')
    assert.equal(res.status(), 201)
    const { token } = await res.json()
    assert.match(token, /^agt_/)
    await page.waitForSelector('[data-test=one-time-secret] >> text=令牌仅显示这一次')
    assert.equal(await page.textContent('[data-test=one-time-value]'), token)
    assert.ok((await page.textContent('[data-test=one-time-secret]')).includes('/api/v1/inventory/agent'), 'how to configure the agent')
    await shots.take(page, 'agent-token')
    await page.click('[data-test=one-time-secret] .el-dialog__footer button:has-text("我已妥善保管")')
    await page.waitForSelector('[data-list=agents] [data-test="agent-门诊楼"]')
    assert.ok(!(await page.content()).includes(token), 'the token is gone once the dialog closes')
    const listed = await data.it.get('/api/v1/inventory/agents')
    assert.ok(!JSON.stringify(listed).includes(token), 'and the list never carries it')
    // The token works for an agent.
    const prolog = await fetch(`${server.base}/api/v1/inventory/agent`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/xml' }, body: '<?xml version="1.0" encoding="UTF-8" ?><REQUEST><DEVICEID>probe-2026</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>' })
    assert.equal(prolog.status, 200)
    assert.match(await prolog.text(), /SEND/)
    await shots.take(page, 'agents')

    // The outpatient desktop's inventory, by hand: its serial is not the archive's, so it waits.
    await page.click('[data-test=inv-upload-open]')
    await page.waitForSelector('[data-test=inv-choose]')
    const xml = inventoryXml({
      device: 'OPD-REG-03', serial: 'R90XK2LM', mac: '6c:4b:90:1a:2b:3c', addresses: ['10.20.0.10', '10.20.0.33'],
      software: [['Microsoft Office 专业增强版 2021', 'Microsoft Corporation', '16.0.14332'], ['Google Chrome', 'Google LLC', '131.0.6778.86'], ['WPS Office', 'Kingsoft Corp.', '12.1.0.18608'],
        ['7-Zip 23.01 (x64)', 'Igor Pavlov', '23.01'], ['企业微信', 'Tencent', '4.1.30'], ['QQ', 'Tencent Technology (Shenzhen) Company Limited', '9.7.21'], ['HIS 门诊工作站', '东华软件', '5.2.1']],
    })
    await page.setInputFiles('[data-test=inv-file]', { name: 'OPD-REG-03.ocs', mimeType: 'application/octet-stream', buffer: xml })
    await page.waitForSelector('[data-test=inv-file-name] >> text=OPD-REG-03.ocs')
    const up = await post(page, '/api/v1/inventory/uploads', '[data-test=inv-upload]')
    assert.equal(up.status(), 200)
    assert.equal((await up.json()).outcome, 'queued')
    await page.waitForSelector('[data-test=inv-upload-result][data-outcome=queued] >> text=未匹配到设备，已进入待审核队列')
    await shots.take(page, 'upload')
    await page.click('[data-test=inv-to-queue]')
    await waitList(page, 'queue')
    const row = page.locator('[data-list=queue] .el-table__body tr').filter({ hasText: 'OPD-REG-03' })
    assert.match(await row.textContent(), /OPD-REG-03.*Windows 10.*R90XK2LM.*6c:4b:90:1a:2b:3c.*10\.20\.0\.10, 10\.20\.0\.33.*7.*待审核/)
    await shots.take(page, 'queue')
    const queued = (await data.it.get('/api/v1/inventory/queue?status=pending')).items[0]
    await page.click(`[data-test=queue-link-${queued.id}]`)
    await page.waitForSelector('[data-test=link-dialog] >> text=R90XK2LM')
    await pickAsset(page, '[data-test=link-asset]', 'IT-2024-0101')
    await shots.take(page, 'link')
    const linked = await post(page, `/api/v1/inventory/queue/${queued.id}/link`, '[data-test=link-save]')
    assert.equal(linked.status(), 200)
    const outcome = await linked.json()
    assert.deepEqual([outcome.outcome, outcome.asset_id, outcome.violations_opened], ['matched', data.assets.desktop.id, 2])
    await page.waitForSelector('.el-message >> text=已关联，发现 2 项违规')
    await page.waitForSelector('[data-list=queue] >> text=暂无待审核的机器')
  })

  test('the asset\'s page shows its machine, its addresses and its violations; the register lists them', async () => {
    const page = ctxs.it.pages()[0]
    await page.goto(`${server.base}/assets/${data.assets.desktop.id}`)
    await page.waitForSelector('[data-test=machine-hostname] >> text=OPD-REG-03')
    assert.equal(await page.textContent('[data-test=machine-memory]'), '16 GB')
    assert.equal(await page.textContent('[data-test=machine-serial]'), 'R90XK2LM')
    assert.match(await page.textContent('[data-test=machine-addresses]'), /6c:4b:90:1a:2b:3c.*10\.20\.0\.10\s*已分配.*10\.20\.0\.33\s*未按规划/)
    // QQ is prohibited (a chat client from Tencent); 企业微信 is allowed though Tencent's too.
    const first = page.locator('[data-test=machine-software] .el-table__body tr').first()
    assert.match(await first.textContent(), /QQ\s*禁用/, 'prohibited software comes first')
    assert.equal(await page.locator('[data-test=software-prohibited]').count(), 1)
    await page.fill('input[data-test=software-filter], [data-test=software-filter] input', 'office')
    await page.waitForSelector('[data-test=software-count] >> text=2 / 7')
    assert.deepEqual((await page.locator('[data-test=machine-software] .el-table__body tr td:first-child').allTextContents()).map((s) => s.trim()), ['Microsoft Office 专业增强版 2021', 'WPS Office'])
    await page.locator('[data-test=asset-it]').scrollIntoViewIfNeeded()
    await shots.take(page, 'asset-machine')
    await page.fill('input[data-test=software-filter], [data-test=software-filter] input', '')
    await page.click('[data-test=tab-addresses]')
    await page.waitForSelector('[data-test=asset-addresses] >> text=10.20.0.10')
    await page.click('[data-test=tab-violations]')
    const vrows = await page.locator('[data-test=asset-violations] .el-table__body tr').allTextContents()
    assert.equal(vrows.length, 2)
    assert.ok(vrows.some((r) => /禁用软件.*QQ.*刘洋.*待处理/.test(r)), vrows.join('\n'))
    assert.ok(vrows.some((r) => /IP 地址不符.*10\.20\.0\.33.*待处理/.test(r)), vrows.join('\n'))
    await shots.take(page, 'asset-violations')

    // The register: open ones, assigned to 刘洋 and the head of 门诊部.
    await page.click('[data-test=menu-violations]')
    await waitList(page, 'violations')
    const qq = page.locator('[data-list=violations] .el-table__body tr').filter({ hasText: 'QQ' })
    assert.match(await qq.textContent(), /禁用软件.*IT-2024-0101.*刘洋.*门诊部.*张敏.*待处理/)
    // By kind, on the server.
    await page.click('[data-test=violation-kind-filter]')
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/violations?') && r.url().includes('kind=address_mismatch')),
      pick(page, 'IP 地址不符'),
    ])
    await waitList(page, 'violations')
    assert.equal(await page.textContent('[data-list=violations] [data-test=pager-total]'), '共 1 条')
    await page.click('[data-test=violation-reset]')
    await waitList(page, 'violations')

    // A manual record: acceptable use, case b, about 刘洋.
    await page.click('[data-test=violation-create]')
    await page.waitForSelector('[data-test=violation-dialog] >> text=未征得他人同意进入同事的电脑')
    await page.click('[data-test=violation-save]')
    await page.waitForSelector('[data-test=field-use_case] .el-form-item__error:has-text("请选择违规情形")')
    await page.waitForSelector('[data-test=field-user_id] .el-form-item__error:has-text("请选择当事人或设备")')
    await page.click('[data-test=use-case-b]')
    await pickUser(page, '[data-test=field-user_id]', '刘洋')
    await page.fill('[data-test=field-detail] textarea', '12 月 1 日午休时间未经同意使用护士站同事电脑登录个人邮箱。')
    await shots.take(page, 'record')
    const rec = await post(page, '/api/v1/violations', '[data-test=violation-save]')
    assert.equal(rec.status(), 201)
    assert.deepEqual(rec.request().postDataJSON(), { kind: 'acceptable_use', detail: '12 月 1 日午休时间未经同意使用护士站同事电脑登录个人邮箱。', use_case: 'b', user_id: data.users.liuyang.id })
    data.manual = await rec.json()
    await page.waitForSelector('[data-test=violation-drawer] [data-test=violation-use-case] >> text=未征得他人同意进入同事的电脑')
    assert.equal(await page.textContent('[data-test=violation-drawer] [data-test=violation-head]'), '张敏')
    await page.keyboard.press('Escape')
    await page.waitForSelector('[data-test=violation-drawer]', { state: 'hidden' })
    await waitList(page, 'violations')
    assert.equal(await page.textContent('[data-list=violations] [data-test=pager-total]'), '共 3 条')
    await page.waitForSelector('.el-message', { state: 'detached', timeout: 8000 }).catch(() => {})
    await shots.take(page, 'register')
  })

  test('the custodian sees his violations; the department head resolves one', async () => {
    const page = await newPage('custodian')
    await loginAs(page, 'liuyang')
    const menu = await page.textContent('.side-menu')
    assert.ok(menu.includes('我的违规待处理') && !menu.includes('违规记录') && !menu.includes('资产管理'), menu)
    await page.click('[data-test=menu-my-violations]')
    await waitList(page, 'my-violations')
    assert.equal(await page.textContent('[data-list=my-violations] [data-test=pager-total]'), '共 3 条')
    const qq = page.locator('[data-list=my-violations] .el-table__body tr').filter({ hasText: 'QQ' })
    assert.match(await qq.textContent(), /禁用软件.*当事人.*待处理/)
    assert.equal(await page.locator('[data-test^=violation-resolve-]').count(), 0, 'the person concerned does not resolve his own')
    await qq.locator('button:has-text("查看")').click()
    await page.waitForSelector('[data-test=violation-not-yours] >> text=由部门负责人 张敏 处理')
    await shots.take(page, 'mine-custodian')
    await page.keyboard.press('Escape')
    // His to-do list has it too, and opens it.
    const v = (await data.it.get(`/api/v1/violations?asset_id=${data.assets.desktop.id}&kind=prohibited_software`)).items[0]
    await page.goto(`${server.base}/todo?tab=tasks`)
    await waitList(page, 'tasks')
    await page.click(`[data-list=tasks] a:has-text("处理违规 #${v.id}")`)
    await page.waitForURL('**/my-violations?**')
    await page.waitForSelector('[data-test=violation-drawer] [data-test=violation-subject-detail] >> text=QQ')
    await page.keyboard.press('Escape')

    const head = await newPage('head')
    await loginAs(head, 'zhangmin')
    await head.click('[data-test=menu-my-violations]')
    await waitList(head, 'my-violations')
    const hrow = head.locator('[data-list=my-violations] .el-table__body tr').filter({ hasText: 'QQ' })
    assert.match(await hrow.textContent(), /禁用软件.*刘洋.*部门负责人.*待处理/)
    await head.click(`[data-test=violation-resolve-${v.id}]`)
    await head.waitForSelector('[data-test=violation-resolve-form]')
    await head.click('[data-test=resolve-submit]')
    await head.waitForSelector('[data-test=field-resolution] .el-form-item__error:has-text("请填写处理结果")')
    await head.fill('[data-test=field-resolution] textarea', '已约谈刘洋，QQ 已卸载，改用企业微信。')
    await shots.take(head, 'resolve')
    const res = await post(head, `/api/v1/violations/${v.id}/resolve`, '[data-test=resolve-submit]')
    assert.equal(res.status(), 200)
    await head.waitForSelector('[data-test=violation-drawer] [data-test=violation-status] >> text=已处理')
    await head.waitForSelector('[data-test=violation-resolution] >> text=已约谈刘洋，QQ 已卸载，改用企业微信。')
    await head.keyboard.press('Escape')
    await waitList(head, 'my-violations')
    assert.equal(await head.textContent('[data-list=my-violations] [data-test=pager-total]'), '共 2 条', 'open ones by default')
    await head.waitForSelector('.el-message', { state: 'detached', timeout: 8000 }).catch(() => {})
    await shots.take(head, 'mine-head')
    // The register agrees; the custodian's list follows.
    assert.equal((await data.it.get(`/api/v1/violations/${v.id}`)).status, 'resolved')
    await page.goto(`${server.base}/my-violations`)
    await waitList(page, 'my-violations')
    assert.equal(await page.textContent('[data-list=my-violations] [data-test=pager-total]'), '共 2 条')
  })

  test('the dashboard charts assets by state and violations by department, quietly empty when a summary fails', async () => {
    const page = ctxs.it.pages()[0]
    const [assetsRes, violationsRes] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/api/v1/assets/summary')),
      page.waitForResponse((r) => r.url().endsWith('/api/v1/violations/summary')),
      page.click('[data-test=menu-dashboard]'),
    ])
    for (const [res, chart, empty] of [[assetsRes, 'chart-assets', 'empty-assets'], [violationsRes, 'chart-violations', 'empty-violations']]) {
      if (res.status() === 200) await page.waitForSelector(`[data-test=${chart}] canvas`)
      else await page.waitForSelector(`[data-test=${empty}]`) // the summary is not in this build yet
    }
    if (violationsRes.status() === 200) assert.match(await page.textContent('[data-test=violations-by-kind]'), /IP 地址不符\s*1.*违反合规使用\s*1/)
    await shots.take(page, 'dashboard')
    await page.locator('[data-test=card-violations]').scrollIntoViewIfNeeded()
    await shots.take(page, 'dashboard-violations')

    // A summary that fails leaves its card empty, never the dashboard broken.
    const summaryUrl = (u) => u.pathname.endsWith('/summary')
    await page.route(summaryUrl, (r) => r.fulfill({ status: 404, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, code: 'route_not_found' }) }))
    await page.reload()
    await page.waitForSelector('[data-test=empty-assets] >> text=暂无可显示的数据')
    await page.waitForSelector('[data-test=empty-violations] >> text=暂无可显示的数据')
    assert.equal(await page.locator('[data-test=card-assets] [data-test=problem], [data-test=card-violations] [data-test=problem]').count(), 0)
    await page.unroute(summaryUrl)
  })

  test('policy, inventory and violation pages at phone width; no blank page when a list fails', async () => {
    const page = ctxs.it.pages()[0]
    await page.goto(`${server.base}/assets/policy`)
    await page.waitForSelector('[data-test=rules] [data-test="rule-QQ*"]')
    assert.match(await page.locator('[data-test=rules] .el-table__body tr').filter({ hasText: '企业微信*' }).textContent(), /允许.*聊天工具.*医院统一部署/)
    await page.click('[data-test=proxy-create]')
    await page.fill('[data-test=field-address] input', 'http://10.9.9.9')
    await page.click('[data-test=proxy-save]')
    await page.waitForSelector('[data-test=field-address] .el-form-item__error:has-text("格式为“主机:端口”")')
    await page.fill('[data-test=field-address] input', '10.9.9.9:8080')
    assert.equal((await post(page, '/api/v1/approved-proxies', '[data-test=proxy-save]')).status(), 201)
    await page.waitForSelector('[data-test="proxy-10.9.9.9:8080"]')
    await page.waitForSelector('.el-message', { state: 'detached', timeout: 8000 }).catch(() => {})
    await shots.take(page, 'policy')

    const listUrl = (u) => u.pathname === '/api/v1/violations'
    await page.route(listUrl, (r) => r.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'service_unavailable' }) }))
    await page.goto(`${server.base}/assets/violations`)
    await page.waitForSelector('[data-list=violations] [data-test=problem] >> text=服务暂不可用')
    await page.unroute(listUrl)
    await page.click('[data-list=violations] [data-test=problem] button')
    await waitList(page, 'violations')

    await page.setViewportSize(PHONE)
    for (const [url, ready, name] of [
      ['/assets/violations', '[data-list=violations][data-state=ready]', 'phone-violations'],
      ['/assets/inventory?tab=agents', '[data-list=agents][data-state=ready]', 'phone-inventory'],
      ['/assets/network', '[data-list=subnets][data-state=ready]', 'phone-network'],
      [`/assets/${data.assets.desktop.id}`, '[data-test=machine-hostname]', 'phone-asset'],
    ]) {
      await page.goto(`${server.base}${url}`)
      await page.waitForSelector(ready)
      assert.ok(await noSideways(page), `no sideways scrolling of ${url}`)
      if (name === 'phone-asset') await page.locator('[data-test=asset-it]').scrollIntoViewIfNeeded()
      await shots.take(page, name)
    }
    const custodian = ctxs.custodian.pages()[0]
    await custodian.setViewportSize(PHONE)
    await custodian.goto(`${server.base}/my-violations`)
    await waitList(custodian, 'my-violations')
    assert.ok(await noSideways(custodian))
    await shots.take(custodian, 'phone-mine')
    await page.setViewportSize(DESKTOP)
  })
})
