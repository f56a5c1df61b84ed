// The registry's rules as the console needs them: the lifecycle of a service request (which
// actions its status allows, as src/modules/registry/requests.cpp decides), labels of codes the
// API sends (types, priorities and channels are the organisation's data; their codes are
// translated when the console knows them, else the API's name is shown), and small helpers.
import { i18n, t, te } from '@/i18n'
import { timeLeft } from '@/utils/workflow'

export const REQUEST_STATUSES = ['new', 'assigned', 'in_progress', 'resolved', 'closed']
export const OPEN_STATUSES = ['new', 'assigned', 'in_progress']
export const CHANNELS = ['phone', 'walk_in', 'web', 'wechat', 'email']
export const SLA_STATES = ['on_track', 'due_soon', 'breached', 'met', 'none']
export const SORTS = ['created_desc', 'created_asc', 'due_asc']
export const CUSTOMER_STATUSES = ['active', 'anonymised', 'deleted']
export const CUSTOMER_KINDS = ['individual', 'organization']
export const PERSONAL_FIELDS = ['mobile', 'id_card', 'address', 'email']
export const DSR_DAYS = 30 // a data-subject request is answered within 30 days (the API sets due_at)
export const LEGAL_BASES = ['consent', 'contract', 'legal_obligation', 'vital_interest', 'public_interest', 'employment']
export const DSR_KINDS = ['access', 'correction', 'deletion']
// Purposes the console suggests (any lower-case code is accepted); "service" is the one a new
// service request relies on (a withdrawn consent for it blocks logging requests).
export const PURPOSES = ['service', 'follow_up', 'survey', 'marketing']

// Transitions: the action, the statuses it leaves from (POST …/transitions).
const TRANSITIONS = [
  { action: 'start', from: ['assigned'] },
  { action: 'resolve', from: ['in_progress'] },
  { action: 'close', from: ['resolved'] },
  { action: 'reopen', from: ['resolved', 'closed'] },
]

/** The lifecycle actions a request's status allows (the API refuses the others). */
export function actionsFrom(status) {
  return TRANSITIONS.filter((x) => x.from.includes(status)).map((x) => x.action)
}

/** Assignment moves an open request (new → assigned); a finished one is reopened instead. */
export function canAssignFrom(status) {
  return OPEN_STATUSES.includes(status)
}

/** Feedback is given on a resolved or closed request. */
export function feedbackAllowed(status) {
  return status === 'resolved' || status === 'closed'
}

const isEn = () => i18n.global.locale.value === 'en'

function known(prefix, code, fallback) {
  const key = `${prefix}.${code}`
  if (te(key)) return t(key)
  return fallback || String(code ?? '')
}

/** A request type by its code: the console's translation, else the organisation's name. */
export function typeLabel(code, name) {
  return known('registry.type', code, name)
}

export function priorityLabel(code, name) {
  return known('registry.priority', code, name)
}

export function channelLabel(code) {
  return known('registry.channel', code)
}

export const PRIORITY_TAG = { urgent: 'danger', high: 'warning', normal: 'primary', low: 'info' }

const HOUR = 3600 * 1000

/**
 * A request's SLA as the list colours it: the API's `sla` (none, on_track, due_soon, breached,
 * met), sharpened by the due times it sent — an open request whose response or resolution time
 * has passed is breached even before the SLA job flags it, and one whose first response is due
 * within the hour is due soon. → { state, which: 'response' | 'resolve' | null, due, left }
 */
export function slaState(req, now = Date.now()) {
  if (!req) return { state: 'none', which: null, due: null, left: null }
  const open = OPEN_STATUSES.includes(req.status)
  const at = (v) => (v ? new Date(v).getTime() : null)
  const respondBy = !req.responded_at && open ? at(req.response_due_at) : null
  const resolveBy = open ? at(req.resolve_due_at) : null
  let which = null
  let state = req.sla || 'none'
  if (req.response_breached) which = 'response'
  if (req.resolve_breached) which = 'resolve'
  if (which) state = 'breached'
  else if (open && respondBy !== null && respondBy <= now) { state = 'breached'; which = 'response' }
  else if (open && resolveBy !== null && resolveBy <= now) { state = 'breached'; which = 'resolve' }
  else if (open && respondBy !== null && respondBy - now < HOUR) { state = 'due_soon'; which = 'response' }
  else if (open && resolveBy !== null && resolveBy - now < HOUR) { state = 'due_soon'; which = 'resolve' }
  else if (open && (respondBy !== null || resolveBy !== null)) { state = 'on_track'; which = respondBy !== null ? 'response' : 'resolve' }
  const due = which === 'response' ? req.response_due_at : which === 'resolve' ? req.resolve_due_at : null
  const left = open && due ? timeLeft(due, now) : null
  return { state, which, due, left }
}

export const SLA_TAG = { breached: 'danger', due_soon: 'warning', on_track: 'success', met: 'info', none: 'info' }

/** The table row's class for a request: breached rows red, due-soon rows amber. */
export function slaRowClass(req, now = Date.now()) {
  const s = slaState(req, now).state
  return s === 'breached' ? 'row-breached' : s === 'due_soon' ? 'row-due-soon' : ''
}

/** Minutes in words (SLA targets): 90 → 1 小时 30 分. */
export function minutesText(min) {
  if (min === null || min === undefined || min === '') return '—'
  const d = Math.floor(min / 1440)
  const h = Math.floor((min % 1440) / 60)
  const m = min % 60
  if (d && !h && !m) return t('time.days', { d })
  if (d && !m) return t('time.daysHours', { d, h })
  if (!d && h && !m) return t('time.hours', { h })
  if (!d && h) return t('time.hoursMinutes', { h, m })
  if (!d) return t('time.minutes', { m })
  return t('registry.sla.daysHoursMinutes', { d, h, m })
}

/** A customer's name for a picker or a list: the masked name with the masked mobile. */
export function customerLabel(c) {
  if (!c) return ''
  return c.mobile ? `${c.name} · ${c.mobile}` : c.name
}

/** A typed search that looks like a mobile number or an ID-card number is an exact search. */
export function exactQuery(text) {
  const v = String(text || '').trim()
  const digits = v.replace(/[\s-]/g, '')
  if (/^\+?\d{7,15}$/.test(digits) && !/^\d{15}$|^\d{17}[\dXx]$/.test(digits)) return { mobile: digits }
  if (/^\d{17}[\dXx]$|^\d{15}$/.test(digits)) return { id_card: digits }
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v)) return { email: v }
  return { q: v }
}

/** The English or Chinese side of a pair the API sends in both. */
export function bilingual(zh, en) {
  return isEn() ? en || zh : zh || en
}
