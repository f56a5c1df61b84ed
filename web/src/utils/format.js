import { i18n } from '@/i18n'

// Times come from the API as RFC 3339 UTC; people read them in Asia/Shanghai.
export function formatTime(value) {
  if (!value) return '—'
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return String(value)
  return i18n.global.d(d, 'long')
}

export function dayKey(value) {
  // YYYY-MM-DD in Asia/Shanghai
  const d = new Date(value)
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d)
  return parts
}

export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}

/** ['2026-11-01', '2026-11-03'] → { from, to } in RFC 3339 UTC, `to` exclusive (next midnight). */
export function rangeToQuery(range) {
  if (!range || range.length !== 2) return {}
  const from = new Date(`${range[0]}T00:00:00+08:00`)
  const to = new Date(new Date(`${range[1]}T00:00:00+08:00`).getTime() + 86400000)
  return { from: from.toISOString(), to: to.toISOString() }
}
