// The rules of inventories, the software policy, violations and the address plan as the console
// needs them: the keys src/modules/assets/{inventory,violations,network}.cpp know (the console
// names them), the colours of their states, and small helpers for addresses and software lists.
import { t, te } from '@/i18n'

export const RULE_KINDS = ['prohibit', 'allow']
export const SOFTWARE_CATEGORIES = ['games', 'hacking', 'trojan', 'chat', 'p2p', 'unrelated', 'other']
// Raised by inventories, then recorded by people (IT-5: acceptable use, cases a–d; other).
export const INVENTORY_KINDS = ['prohibited_software', 'address_mismatch', 'address_conflict', 'unapproved_proxy']
export const MANUAL_KINDS = ['acceptable_use', 'other']
export const VIOLATION_KINDS = [...INVENTORY_KINDS, ...MANUAL_KINDS]
export const USE_CASES = ['a', 'b', 'c', 'd']
export const VIOLATION_STATUSES = ['open', 'resolved', 'cleared']
export const QUEUE_STATUSES = ['pending', 'linked', 'dismissed']
export const ALLOCATION_KINDS = ['allocation', 'reservation']

export const VIOLATION_TAG = { open: 'danger', resolved: 'success', cleared: 'info' }
export const QUEUE_TAG = { pending: 'warning', linked: 'success', dismissed: 'info' }
export const KIND_TAG = { prohibited_software: 'danger', address_mismatch: 'warning', address_conflict: 'warning', unapproved_proxy: 'warning', acceptable_use: 'danger', other: 'info' }
export const CATEGORY_TAG = { games: 'warning', hacking: 'danger', trojan: 'danger', chat: 'primary', p2p: 'warning', unrelated: 'info', other: 'info' }

const label = (prefix, v) => (v && te(`${prefix}.${v}`) ? t(`${prefix}.${v}`) : v || '—')
export const kindLabel = (k) => label('vio.kinds', k)
export const useCaseLabel = (c) => label('vio.useCases', c)
export const useCaseShort = (c) => label('vio.useCaseShort', c)
export const categoryName = (c) => label('policy.categories', c)
export const ruleKindLabel = (k) => label('policy.kinds', k)
export const violationStatusLabel = (s) => label('status.violation', s)
export const matchedByLabel = (m) => label('inv.matchedBy', m)

/** "a,b, c" (the queue's macs and addresses) → ['a', 'b', 'c']. */
export function splitList(v) {
  return String(v || '').split(',').map((s) => s.trim()).filter(Boolean)
}

/** 8192 → "8 GB"; 1536 → "1.5 GB"; 512 → "512 MB"; 0 → "—". */
export function formatMemory(mb) {
  const n = Number(mb)
  if (!n) return '—'
  if (n < 1024) return `${n} MB`
  const gb = n / 1024
  return `${Number.isInteger(gb) ? gb : gb.toFixed(1)} GB`
}

/** A CIDR's address count as people read it: IPv4 exact ("254 个可用"), IPv6 as 2^n. */
export function subnetSize(cidr) {
  const m = /^(.+)\/(\d{1,3})$/.exec(String(cidr || ''))
  if (!m) return null
  const prefix = Number(m[2])
  const v6 = m[1].includes(':')
  const bits = (v6 ? 128 : 32) - prefix
  if (v6) return { v6, bits, usable: null }
  const total = 2 ** bits
  return { v6, bits, usable: bits >= 2 ? total - 2 : total }
}

// What people type into the forms (checked before sending; the server checks again).
const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
export function looksLikeAddress(s) {
  const v = String(s || '').trim()
  return V4.test(v) || (/^[0-9a-fA-F:.]+$/.test(v) && v.includes(':'))
}
export function looksLikeCidr(s) {
  const m = /^(.+)\/(\d{1,3})$/.exec(String(s || '').trim())
  if (!m || !looksLikeAddress(m[1])) return false
  return Number(m[2]) <= (m[1].includes(':') ? 128 : 32)
}
/** host:port, the form the server keeps approved proxies in. */
export function looksLikeProxy(s) {
  const v = String(s || '').trim()
  return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v)
}

/** A glob of the software rules (* any run, ? one character, case-insensitive) as a RegExp. */
export function globRegExp(pattern) {
  const re = String(pattern || '').replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
  return new RegExp(`^${re}$`, 'i')
}

/**
 * A violation's detail in the user's language. The API writes an inventory finding's detail as
 * English text (src/modules/assets/violations.cpp, Violations::check): "chat: QQ 9.7 (Tencent)",
 * "uses a reserved address (eth0)", "uses the address allocated to IT-1 (eth0)", "not allocated
 * to this asset (eth0; allocated: 10.0.0.5)", "set in http_proxy". Those forms are said in the
 * user's words; anything else (and what people recorded by hand) is shown as it was written.
 */
export function describeDetail(v) {
  const d = String((v && v.detail) || '')
  if (!v || v.source !== 'inventory' || !d) return d
  let m
  if (v.kind === 'prohibited_software' && (m = /^([a-z0-9_]+): (.*)$/s.exec(d)) && SOFTWARE_CATEGORIES.includes(m[1])) {
    return t('vio.describe.software', { category: categoryName(m[1]), software: m[2] })
  }
  if (v.kind === 'address_conflict') {
    if ((m = /^uses a reserved address \((.*)\)$/.exec(d))) return t('vio.describe.reserved', { nic: m[1] })
    if ((m = /^uses the address allocated to (.*) \(([^()]*)\)$/.exec(d))) return t('vio.describe.taken', { tag: m[1] || '—', nic: m[2] })
  }
  if (v.kind === 'address_mismatch' && (m = /^not allocated to this asset \((.*); allocated: (.*)\)$/.exec(d))) {
    return t('vio.describe.mismatch', { nic: m[1], allocated: m[2] === 'none' ? t('vio.describe.none') : m[2] })
  }
  if (v.kind === 'unapproved_proxy' && (m = /^set in (\S+)$/.exec(d))) return t('vio.describe.proxy', { name: m[1] })
  return d
}
