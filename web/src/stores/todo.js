// The to-do centre's counts (GET /api/v1/todo/counts): pending approvals (and how many are
// overdue), assigned tasks, must-read items, unread copies and notifications, and `badge` — what
// the sidebar and the header show. Alerts of an administrator role (GET /api/v1/alerts) add to
// the badge. Refreshed every POLL_MS while the console is open, when the tab becomes visible
// again, and after every action that changes them (call refresh()).
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { alertsApi, todoApi } from '@/api'

export const POLL_MS = 45000

const EMPTY = { pending: 0, overdue: 0, cc_unread: 0, started_running: 0, tasks_open: 0, must_read: 0, notifications_unread: 0, badge: 0 }

export const useTodoStore = defineStore('todo', () => {
  const counts = ref({ ...EMPTY })
  const alerts = ref(0)
  const loaded = ref(false)
  let timer = null
  let auth = null
  let seq = 0

  const total = computed(() => (counts.value.badge || 0) + (alerts.value || 0))
  const unread = computed(() => counts.value.notifications_unread || 0)
  const alertsOn = () => !!(auth && auth.me && auth.me.admin_role)

  let latest = Promise.resolve()

  // Resolves once the newest refresh has answered (an older one still in flight defers to it).
  function refresh(authStore) {
    if (authStore) auth = authStore
    if (!auth || !auth.isAuthenticated || auth.pendingStep) return Promise.resolve()
    const mine = ++seq
    const p = (async () => {
      const [c, a] = await Promise.all([
        todoApi.counts().catch(() => null),
        alertsOn() ? alertsApi.list({ unread: 'true', limit: 1 }).then((r) => r.total).catch(() => null) : Promise.resolve(0),
      ])
      if (mine !== seq) return latest
      if (c) counts.value = { ...EMPTY, ...c }
      if (a !== null) alerts.value = a
      loaded.value = true
    })()
    latest = p
    return p
  }

  function onVisible() {
    if (document.visibilityState === 'visible') refresh()
  }

  function start(authStore) {
    auth = authStore
    stop()
    refresh()
    timer = setInterval(() => { if (document.visibilityState !== 'hidden') refresh() }, POLL_MS)
    document.addEventListener('visibilitychange', onVisible)
  }

  function stop() {
    if (timer) clearInterval(timer)
    timer = null
    document.removeEventListener('visibilitychange', onVisible)
  }

  function clear() {
    stop()
    seq++
    counts.value = { ...EMPTY }
    alerts.value = 0
    loaded.value = false
  }

  return { counts, alerts, loaded, total, unread, refresh, start, stop, clear }
})
