// The equipment archive's rules as the console needs them: categories and states (the keys
// src/modules/assets/assets.cpp knows; the console names them), the lifecycle actions with the
// states each may start from (the server's table — it refuses the others), what each action asks
// for, the colours of the states, and amounts in yuan.
import { t, te } from '@/i18n'

export const CATEGORIES = ['desktop', 'laptop', 'printer', 'network', 'server', 'storage', 'storage_medium', 'peripheral', 'mobile', 'other']
export const STATES = ['ordered', 'in_stock', 'in_use', 'idle', 'in_repair', 'in_external_repair', 'pending_disposal', 'scrapped', 'sold']
// A new asset is registered as ordered (awaiting delivery) or already in stock.
export const INITIAL_STATES = ['ordered', 'in_stock']
// Scrapped or sold: kept as it was (no edits, no actions).
export const FINAL_STATES = ['scrapped', 'sold']

// Actions, the states they start from (Assets::act), and what the dialog asks:
// custodian (required), location, cost (yuan; required for a sale), and always a note.
export const ACTIONS = [
  { action: 'receive', from: ['ordered'], location: true },
  { action: 'issue', from: ['in_stock', 'idle'], custodian: true, location: true },
  { action: 'idle', from: ['in_use'], location: true },
  { action: 'repair', from: ['in_stock', 'in_use', 'idle'] },
  { action: 'external_repair', from: ['in_stock', 'in_use', 'idle', 'in_repair'], location: true },
  { action: 'repaired', from: ['in_repair', 'in_external_repair'], cost: true, location: true },
  { action: 'dispose', from: ['in_stock', 'in_use', 'idle', 'in_repair', 'in_external_repair'] },
  { action: 'cancel_disposal', from: ['pending_disposal'] },
  // scrap and sell: only through the disposal approval (IT-6, form assets.disposal); the server
  // answers approval_required to the plain actions.
]
export const ACTION_NAMES = ACTIONS.map((a) => a.action)

/** The actions an asset's state allows, in the order above. */
export function actionsFrom(status) {
  return ACTIONS.filter((a) => a.from.includes(status))
}

export function actionRule(action) {
  return ACTIONS.find((a) => a.action === action) || null
}

// Element Plus tag types by state.
export const STATE_TAG = {
  ordered: 'info', in_stock: 'primary', in_use: 'success', idle: 'warning', in_repair: 'danger',
  in_external_repair: 'danger', pending_disposal: 'warning', scrapped: 'info', sold: 'info',
}

export function categoryLabel(c) {
  return c && te(`asset.categories.${c}`) ? t(`asset.categories.${c}`) : c || '—'
}
export function stateLabel(s) {
  return s && te(`status.asset.${s}`) ? t(`status.asset.${s}`) : s || '—'
}
export function actionLabel(a) {
  return a && te(`asset.action.${a}`) ? t(`asset.action.${a}`) : a
}

// Amounts: "4999.00" (the API's form) ↔ what people type ("4999", "4999.5", "4,999.50").
export const MONEY = /^\d{1,11}(\.\d{1,2})?$/
export function normaliseMoney(v) {
  const s = String(v ?? '').replace(/[,，\s]/g, '')
  return s
}
export function validMoney(v) {
  const s = normaliseMoney(v)
  return s === '' || MONEY.test(s)
}
/** "4999.00" → "¥4,999.00"; empty → "—". */
export function formatMoney(v) {
  if (v === null || v === undefined || v === '') return '—'
  const [whole, frac = '00'] = String(v).split('.')
  return `¥${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${(frac + '00').slice(0, 2)}`
}
/** Whole fen as text ("499900", the history's cost events) → "¥4,999.00". */
export function formatCents(v) {
  if (v === null || v === undefined || v === '' || !/^\d+$/.test(String(v))) return '—'
  const n = String(v).padStart(3, '0')
  return formatMoney(`${n.slice(0, -2)}.${n.slice(-2)}`)
}

/** The day today in Asia/Shanghai, YYYY-MM-DD. */
export function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date())
}

/** Warranty: 'none' (no date), 'expired', 'soon' (within 30 days) or 'valid'. */
export function warrantyState(end) {
  if (!end) return 'none'
  const now = today()
  if (end < now) return 'expired'
  const soon = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() + 30 * 86400000))
  return end <= soon ? 'soon' : 'valid'
}

/**
 * A state event's note is "<action>" or "<action>: <what the person wrote>" (Assets::act):
 * → { action, note }. Other notes come back as { action: '', note }.
 */
// Steps an approval takes (IT-6 write-off or sale, IT-2 handover back to stock): written to the
// history like the actions, "<step>: <note>".
const APPROVED_STEPS = ['scrap', 'sell', 'handover']

export function splitStateNote(note) {
  const s = String(note || '')
  for (const a of [...ACTION_NAMES, ...APPROVED_STEPS]) {
    if (s === a) return { action: a, note: '' }
    if (s.startsWith(`${a}: `)) return { action: a, note: s.slice(a.length + 2) }
  }
  return { action: '', note: s }
}
