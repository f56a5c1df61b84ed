// A grant "org:*:read" matches "org:users:read": `*` matches one segment (src/platform/authz).
export function matches(grant, wanted) {
  const g = grant.split(':')
  const w = wanted.split(':')
  if (g.length !== w.length) return false
  return g.every((seg, i) => seg === '*' || seg === w[i])
}

export function permitted(grants, wanted) {
  return grants.some((g) => matches(typeof g === 'string' ? g : g.permission, wanted))
}
