// The to-do centre's sources. Each source says whether it applies to the signed-in user and
// how many items wait. Pending approvals and must-read items plug in here once the workflow API
// serves GET /api/v1/todo: set `available` and give `count` (and a list view in TodoView.vue).
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { alertsApi } from '@/api'

export const todoSources = [
  { key: 'approvals', title: 'todo.approvals', icon: 'Stamp', available: () => false },
  { key: 'mustRead', title: 'todo.mustRead', icon: 'Reading', available: () => false },
  {
    key: 'alerts',
    title: 'todo.alerts',
    icon: 'Bell',
    // Alerts are addressed to an administrator role (GET /api/v1/alerts).
    available: (auth) => !!(auth.me && auth.me.admin_role),
    count: async () => (await alertsApi.list({ unread: 'true', limit: 1 })).total,
  },
]

export const useTodoStore = defineStore('todo', () => {
  const counts = ref({})
  const total = computed(() => Object.values(counts.value).reduce((a, b) => a + (b || 0), 0))

  async function refresh(auth) {
    const next = {}
    await Promise.all(
      todoSources.map(async (s) => {
        if (!s.available(auth) || !s.count) return
        try {
          next[s.key] = await s.count()
        } catch {
          next[s.key] = 0
        }
      }),
    )
    counts.value = next
  }

  function clear() {
    counts.value = {}
  }

  return { counts, total, refresh, clear }
})
