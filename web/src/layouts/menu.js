// Sidebar areas, in order. A page joins an area through `meta.area` in src/router/index.js; an
// area without a page the caller may open stays hidden.
import { pages } from '@/router'

export const areas = [
  { key: 'work', title: 'menu.areaWork', icon: 'House' },
  { key: 'registry', title: 'menu.areaRegistry', icon: 'Files' },
  { key: 'assets', title: 'menu.areaAssets', icon: 'Cpu' },
  { key: 'approvals', title: 'menu.areaApprovals', icon: 'Stamp' },
  { key: 'org', title: 'menu.areaOrg', icon: 'OfficeBuilding' },
  { key: 'access', title: 'menu.areaAccess', icon: 'Lock' },
  { key: 'audit', title: 'menu.areaAudit', icon: 'DocumentChecked' },
]

/** The menu the user may use: areas with at least one page they may open. */
export function menuFor(can) {
  return areas
    .map((a) => ({
      ...a,
      items: pages.filter((p) => p.meta.area === a.key && !p.meta.hidden && (!p.meta.perm || can(p.meta.perm))),
    }))
    .filter((a) => a.items.length > 0)
}

export function areaOf(key) {
  return areas.find((a) => a.key === key)
}
