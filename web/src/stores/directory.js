// Departments the caller may see (GET /api/v1/departments, every page), loaded once per session
// for pickers and for showing a department id by its name; forgotten at logout.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { fetchAllDepartments, buildTree } from '@/utils/departments'

export const useDirectoryStore = defineStore('directory', () => {
  const departments = ref(null)
  let pending = null

  function load() {
    if (departments.value) return Promise.resolve(departments.value)
    if (!pending) {
      pending = fetchAllDepartments()
        .then((all) => { departments.value = all })
        .catch(() => { departments.value = [] })
        .finally(() => { pending = null })
    }
    return pending
  }

  const tree = computed(() => buildTree(departments.value || []))
  const byId = computed(() => new Map((departments.value || []).map((d) => [d.id, d])))

  function clear() {
    departments.value = null
  }

  return { departments, tree, byId, load, clear }
})
