// Every department the caller may see (GET /api/v1/departments, paged through), as a tree.
import { orgApi } from '@/api'
import { fetchAll } from './paging'

export function fetchAllDepartments() {
  return fetchAll((q) => orgApi.departments(q))
}

export function buildTree(depts) {
  const byId = new Map(depts.map((d) => [d.id, { ...d, children: [] }]))
  const roots = []
  for (const node of byId.values()) {
    const parent = node.parent_id && byId.get(node.parent_id)
    if (parent) parent.children.push(node)
    else roots.push(node) // top level, or a parent the caller may not see
  }
  const sort = (list) => {
    list.sort((a, b) => a.code.localeCompare(b.code))
    list.forEach((n) => sort(n.children))
  }
  sort(roots)
  return roots
}

export const DEPARTMENT_KINDS = ['normal', 'it', 'president_office', 'finance', 'admin_hr']
