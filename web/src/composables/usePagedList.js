// A list page's state: server-side filters and keyset paging (`cursor` / `next_cursor`, `total`),
// as every list of the API answers (api-conventions.md "Lists").
//
//   const list = usePagedList((q) => orgApi.users(q), { filters: { q: '', status: '' } })
//   list.search()   // first page with the current filters
//
// Endpoints that answer the whole list at once (posts, roles, sessions today) pass
// `{ local: true, match(item, filters) }`: filtered and paged in the browser.
import { reactive, ref, shallowRef } from 'vue'

export function usePagedList(fetchPage, { filters = {}, pageSize = 20, local = false, match = null, transform = null } = {}) {
  const state = reactive({
    filters: { ...filters },
    items: [],
    total: 0,
    totalExact: true, // false: the server counted only so far (the registry counts up to 1,000)
    page: 1,
    pageSize,
    loading: false,
    loaded: false,
  })
  const error = shallowRef(null)
  const cursors = ref([null]) // cursors[i]: the cursor that fetches page i + 1
  let all = [] // local mode: everything the endpoint answered
  let seq = 0

  function query() {
    const q = { limit: state.pageSize }
    for (const [k, v] of Object.entries(state.filters)) {
      if (v !== '' && v !== null && v !== undefined) q[k] = v
    }
    const c = cursors.value[state.page - 1]
    if (c) q.cursor = c
    return q
  }

  function applyLocal() {
    const rows = match ? all.filter((x) => match(x, state.filters)) : all
    state.total = rows.length
    const start = (state.page - 1) * state.pageSize
    state.items = rows.slice(start, start + state.pageSize)
  }

  async function load() {
    const mine = ++seq
    state.loading = true
    error.value = null
    try {
      if (local) {
        if (!state.loaded || state.page === 1) {
          const r = await fetchPage({})
          if (mine !== seq) return
          all = transform ? transform(r.items || []) : r.items || []
        }
        applyLocal()
      } else {
        const r = await fetchPage(query())
        if (mine !== seq) return
        state.items = transform ? transform(r.items || []) : r.items || []
        state.total = typeof r.total === 'number' ? r.total : state.items.length
        state.totalExact = r.total_exact !== false
        cursors.value[state.page] = r.next_cursor || null
        cursors.value.length = state.page + 1
      }
      state.loaded = true
    } catch (e) {
      if (mine !== seq) return
      error.value = e
      state.items = []
    } finally {
      if (mine === seq) state.loading = false
    }
  }

  function search() {
    state.page = 1
    cursors.value = [null]
    return load()
  }

  function reset() {
    Object.assign(state.filters, filters)
    return search()
  }

  function hasNext() {
    if (local) return state.page * state.pageSize < state.total
    return !!cursors.value[state.page]
  }

  function goTo(page) {
    if (page === state.page + 1 && hasNext()) {
      state.page = page
      return local ? (applyLocal(), Promise.resolve()) : load()
    }
    if (page === state.page - 1 && page >= 1) {
      state.page = page
      return local ? (applyLocal(), Promise.resolve()) : load()
    }
    return Promise.resolve()
  }

  function setPageSize(n) {
    state.pageSize = n
    return local ? (state.page = 1, applyLocal(), Promise.resolve()) : search()
  }

  /** Replace one row after an edit (same id). */
  function replace(row, key = 'id') {
    const i = state.items.findIndex((x) => x[key] === row[key])
    if (i >= 0) state.items[i] = row
    const j = all.findIndex((x) => x[key] === row[key])
    if (j >= 0) all[j] = row
  }

  return { state, error, load, search, reset, goTo, hasNext, setPageSize, replace, refresh: load }
}
