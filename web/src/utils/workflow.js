// Reading the approval engine's data for people: the nodes of a definition in flow order, its
// approver rules, modes and authority in words, form field labels and values, time left.
import { i18n, t, te } from '@/i18n'

const isEn = () => i18n.global.locale.value === 'en'

/** A translated name with the raw value as fallback: tr('wf.mode', 'all'). */
export function tr(prefix, value) {
  const key = `${prefix}.${value}`
  return te(key) ? t(key) : String(value ?? '')
}

export function formTypeName(ft) {
  if (!ft) return ''
  return isEn() ? ft.name_en || ft.key : ft.name_zh || ft.key
}

export function fieldLabel(field) {
  return isEn() ? field.label_en || field.name : field.label_zh || field.name
}

// Choices whose words the console already has under another key: a purchase request's category
// is an asset category, a disposal's method the lifecycle step it ends in.
const CHOICE_WORDS = { 'assets.procurement.category': 'asset.categories', 'assets.disposal.method': 'asset.action' }

/** The label of a choice value: wf.choice.<form type>.<field>.<value> when translated. */
export function choiceLabel(formType, field, value) {
  const key = `wf.choice.${String(formType).replace(/\./g, '_')}.${field}.${value}`
  if (te(key)) return t(key)
  const shared = CHOICE_WORDS[`${formType}.${field}`]
  return shared && te(`${shared}.${value}`) ? t(`${shared}.${value}`) : String(value)
}

/**
 * The nodes of a graph in the order a reader follows them: breadth-first from the start, each
 * with the edges that leave it. Nodes the start cannot reach come last (a draft being edited).
 */
export function flowOrder(graph) {
  const nodes = (graph && Array.isArray(graph.nodes) ? graph.nodes : []).filter((n) => n && typeof n === 'object')
  const edges = (graph && Array.isArray(graph.edges) ? graph.edges : []).filter((e) => e && typeof e === 'object')
  const byId = new Map(nodes.map((n, i) => [n.id, { ...n, index: i }]))
  const start = nodes.find((n) => n.kind === 'start')
  const order = []
  const seen = new Set()
  const queue = start ? [start.id] : []
  while (queue.length) {
    const id = queue.shift()
    if (seen.has(id) || !byId.has(id)) continue
    seen.add(id)
    order.push(byId.get(id))
    for (const e of edges) if (e.from === id && !seen.has(e.to)) queue.push(e.to)
  }
  for (const n of nodes) if (!seen.has(n.id)) order.push({ ...byId.get(n.id), unreachable: !!start })
  return order.map((n) => ({ ...n, out: edges.filter((e) => e.from === n.id) }))
}

/** One approver rule in words, e.g. "处罚下发部门 的负责人". */
export function ruleText(rule, formType, names = {}) {
  const field = (name) => {
    const f = formType && formType.fields ? formType.fields.find((x) => x.name === name) : null
    return f ? fieldLabel(f) : name
  }
  switch (rule.rule) {
    case 'user':
      return t('wf.rule.user', { who: names.users?.[rule.user_id] || t('common.userRef', { id: rule.user_id }) })
    case 'role':
      return t('wf.rule.role', { code: rule.code })
    case 'post':
      return t('wf.rule.post', { code: rule.code })
    case 'post_in_department':
      return t('wf.rule.post_in_department', { code: rule.code, department: rule.department })
    case 'initiator_head':
      return t('wf.rule.initiator_head')
    case 'department_head':
      return t('wf.rule.department_head', { field: field(rule.field) })
    case 'superior':
      return rule.of === 'field_head'
        ? t('wf.rule.superior_of_head', { field: field(rule.field), level: rule.level || 1 })
        : t('wf.rule.superior', { level: rule.level || 1 })
    case 'department_kind':
      return t('wf.rule.department_kind', { kind: te(`dept.kinds.${rule.kind}`) ? t(`dept.kinds.${rule.kind}`) : rule.kind })
    case 'record_owner':
      return t('wf.rule.record_owner')
    default:
      return String(rule.rule || '?')
  }
}

export function authorityText(authority) {
  if (!authority || authority === 'none') return t('wf.authority.none')
  if (authority === 'post') return t('wf.authority.post')
  return t('wf.authority.permission', { perm: authority })
}

export function conditionText(when, formType) {
  if (!when) return t('wf.otherwise')
  const f = formType && formType.fields ? formType.fields.find((x) => x.name === when.field) : null
  const label = f ? fieldLabel(f) : when.field
  const show = (v) => (f && f.type === 'choice' ? choiceLabel(formType.key, f.name, v) : v)
  const value = Array.isArray(when.value) ? when.value.map(show).join(isEn() ? ', ' : '、') : show(when.value)
  return t('wf.condition', { field: label, op: tr('wf.op', when.op), value })
}

/** Time until (or since) a due time: { text, overdue, soon }. */
export function timeLeft(dueAt, now = Date.now()) {
  if (!dueAt) return null
  const ms = new Date(dueAt).getTime() - now
  const text = duration(Math.abs(ms))
  if (ms < 0) return { text: t('wf.overdueBy', { time: text }), overdue: true, soon: false }
  return { text: t('wf.timeLeft', { time: text }), overdue: false, soon: ms < 4 * 3600 * 1000 }
}

export function duration(ms) {
  const min = Math.max(1, Math.floor(ms / 60000))
  const d = Math.floor(min / 1440)
  const h = Math.floor((min % 1440) / 60)
  const m = min % 60
  if (d) return h ? t('time.daysHours', { d, h }) : t('time.days', { d })
  if (h) return m ? t('time.hoursMinutes', { h, m }) : t('time.hours', { h })
  return t('time.minutes', { m })
}

/** Empty values for a form type's fields (what a new form starts from). */
export function emptyForm(formType) {
  const out = {}
  for (const f of formType.fields || []) {
    if (f.type === 'boolean') out[f.name] = false
    else if (f.type === 'integer' || f.type === 'decimal') out[f.name] = undefined
    else out[f.name] = f.type === 'choice' ? '' : ''
  }
  return out
}

/** The form as the API takes it: empty optional fields left out, numbers as numbers. */
export function formBody(formType, values) {
  const out = {}
  for (const f of formType.fields || []) {
    const v = values[f.name]
    if (v === undefined || v === null || v === '') continue
    if (f.type === 'integer' || f.type === 'decimal') out[f.name] = Number(v)
    else if (f.type === 'boolean') out[f.name] = !!v
    else out[f.name] = typeof v === 'string' ? v.trim() : String(v)
  }
  return out
}

// A definition to start from in the editor: two approval steps, the second with a time limit.
export function definitionTemplate(formType) {
  const dept = formType && formType.fields ? formType.fields.find((f) => f.type === 'department') : null
  const first = dept
    ? { rule: 'department_head', field: dept.name }
    : { rule: 'initiator_head' }
  const second = dept
    ? { rule: 'superior', of: 'field_head', field: dept.name, level: 1 }
    : { rule: 'superior', of: 'initiator', level: 1 }
  return {
    nodes: [
      { id: 'start', kind: 'start', name: isEn() ? 'Submit' : '提交申请' },
      { id: 'head', kind: 'approval', name: isEn() ? 'Department head' : '部门负责人审批', mode: 'single', approvers: [first], authority: 'post', time_limit_hours: 24, on_timeout: 'remind' },
      { id: 'superior', kind: 'approval', name: isEn() ? 'Their superior' : '上级领导审批', mode: 'single', approvers: [second], authority: 'post', time_limit_hours: 48, on_timeout: 'escalate' },
      { id: 'end', kind: 'end', name: isEn() ? 'Done' : '结束' },
    ],
    edges: [
      { from: 'start', to: 'head' },
      { from: 'head', to: 'superior' },
      { from: 'superior', to: 'end' },
    ],
  }
}

/** "body.graph.nodes[2].approvers[0].code" → { node: 2 } (the node at fault), else null. */
export function nodeAtFault(field) {
  const m = /^body\.graph\.nodes\[(\d+)\]/.exec(field || '')
  return m ? Number(m[1]) : null
}

/** Where a to-do item or notification about an object opens in the console (null: nowhere). */
export function objectRoute(type, id, can = () => true) {
  if (!type || !id) return null
  if (type === 'workflow_instance') return { name: 'approval-instance', params: { id } }
  if (type === 'offboarding_case' && can('org:users:read')) return { name: 'offboarding', query: { case: id } }
  if (type === 'user' && can('org:users:read')) return { name: 'user-detail', params: { id } }
  if (type === 'service_request' && can('registry:requests:read')) return { name: 'service-request', params: { id } }
  if (type === 'customer' && can('registry:customers:read')) return { name: 'customer', params: { id } }
  if (type === 'data_subject_request' && can('registry:privacy:write')) return { name: 'subject-requests', query: { id } }
  // A violation assigned to the caller: their own list opens it (the register, for its keepers).
  if (type === 'violation') return can('assets:violations:read') ? { name: 'violations', query: { id, status: 'all' } } : { name: 'my-violations', query: { id, status: 'all' } }
  return null
}

/** A notification's (or to-do item's) text in the UI language. */
export function localized(item, field) {
  return (isEn() ? item[`${field}_en`] : item[`${field}_zh`]) || item[`${field}_zh`] || item[`${field}_en`] || ''
}
