// Permissions the server checks today (module:resource:action), for the role editor. Their
// names are translations (perm.<module>.<resource>.<action>); a permission the catalogue does not
// know yet can still be typed in. Add a module's permissions here when its API lands.
export const PERMISSIONS = [
  'org:departments:read', 'org:departments:write',
  'org:users:read', 'org:users:write', 'org:users:unmask',
  'org:posts:read', 'org:posts:write',
  'iam:roles:read', 'iam:roles:write', 'iam:user_roles:write', 'iam:clearances:write',
  'iam:sessions:read', 'iam:sessions:revoke', 'iam:classifications:write', 'iam:grants:read', 'iam:grants:write',
  'audit:events:read', 'audit:events:verify', 'audit:events:purge',
  'system:config:read',
  'workflow:definitions:write', 'workflow:instances:read', 'workflow:instances:terminate',
  'registry:customers:read', 'registry:customers:write', 'registry:customers:unmask', 'registry:customers:export',
  'registry:requests:read', 'registry:requests:write', 'registry:requests:export', 'registry:feedback:write',
  'registry:records:classify', 'registry:config:write', 'registry:privacy:write',
  'assets:equipment:read', 'assets:equipment:write',
  'assets:inventory:read', 'assets:inventory:write', 'assets:network:read', 'assets:network:write',
  'assets:violations:read', 'assets:violations:write',
]

export const SCOPES = ['all', 'department_tree', 'department', 'custom', 'own']

export function permKey(p) {
  return `perm.${p.replace(/\*/g, 'any').split(':').join('.')}`
}
