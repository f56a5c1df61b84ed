// Endpoints by area. Each function returns what the API returns (see GET /api/v1/openapi.json).
// Add a module's endpoints here (or in a file of its own next to this one) when its API lands.
import { http, request } from './client'

export { workflowApi, todoApi, notificationsApi } from './workflow'
export { registryApi } from './registry'
export { assetsApi } from './assets'
export { inventoryApi, policyApi, violationsApi, networkApi } from './inventory'

const V = '/api/v1'

export const authApi = {
  login: (username, password, totp) => http.post(`${V}/auth/login`, totp ? { username, password, totp } : { username, password }),
  logout: () => http.post(`${V}/auth/logout`),
  me: () => http.get(`${V}/auth/me`),
  changePassword: (old_password, new_password) => http.post(`${V}/auth/password`, { old_password, new_password }),
  reauth: (password) => http.post(`${V}/auth/reauth`, { password }),
  totpEnroll: () => http.post(`${V}/auth/totp/enroll`),
  totpConfirm: (code) => http.post(`${V}/auth/totp/confirm`, { code }),
}

export const orgApi = {
  departments: (query) => http.get(`${V}/departments`, query),
  department: (id) => http.get(`${V}/departments/${id}`),
  createDepartment: (body) => http.post(`${V}/departments`, body),
  updateDepartment: (id, body, etag) => http.patch(`${V}/departments/${id}`, body, etag),
  users: (query) => http.get(`${V}/users`, query),
  // The staff directory for pickers (any signed-in user): { items: [{ id, name, username, department_id, department_name }] }
  directoryUsers: (query) => http.get(`${V}/directory/users`, query),
  user: (id) => http.get(`${V}/users/${id}`),
  createUser: (body) => http.post(`${V}/users`, body),
  updateUser: (id, body, etag) => http.patch(`${V}/users/${id}`, body, etag),
  setUserRoles: (id, role_ids) => http.put(`${V}/users/${id}/roles`, { role_ids }),
  setUserPosts: (id, post_ids) => http.put(`${V}/users/${id}/posts`, { post_ids }),
  unmaskUser: (id, fields, reason) => http.post(`${V}/users/${id}/unmask`, { fields, reason }),
  posts: () => http.get(`${V}/posts`),
  createPost: (body) => http.post(`${V}/posts`, body),
  updatePost: (id, body, etag) => http.patch(`${V}/posts/${id}`, body, etag),
  openOffboarding: (userId, body) => http.post(`${V}/users/${userId}/offboarding`, body),
  offboardingCases: (query) => http.get(`${V}/offboarding-cases`, query),
  offboardingCase: (id) => http.get(`${V}/offboarding-cases/${id}`),
  offboardingPermissionForm: (id) => http.post(`${V}/offboarding-cases/${id}/permission-form`),
  offboardingComplete: (id) => http.post(`${V}/offboarding-cases/${id}/complete`),
  offboardingCancel: (id) => http.post(`${V}/offboarding-cases/${id}/cancel`),
  importFile: (register, file, dryRun) =>
    request('POST', `${V}/${register}/import`, { query: { dry_run: dryRun ? 'true' : 'false' }, rawBody: file, contentType: importType(file) }),
  importTemplate: (register, format) => request('GET', `${V}/${register}/import-template`, { query: { format }, download: true }),
}

function importType(file) {
  const name = (file && file.name ? file.name : '').toLowerCase()
  if (name.endsWith('.csv')) return 'text/csv'
  if (name.endsWith('.xlsx')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
  return 'application/octet-stream'
}

export const accessApi = {
  classifications: () => http.get(`${V}/classifications`),
  saveClassifications: (levels) => http.put(`${V}/classifications`, { levels }),
  grants: (query) => http.get(`${V}/access-grants`, query),
  // What a grant may name: [{ object_type, permissions }] as the server's modules registered them.
  grantableTypes: () => http.get(`${V}/access-grants/types`),
  grant: (id) => http.get(`${V}/access-grants/${id}`),
  createGrant: (body) => http.post(`${V}/access-grants`, body),
  revokeGrant: (id, reason) => http.post(`${V}/access-grants/${id}/revoke`, { reason }),
  roles: () => http.get(`${V}/roles`),
  role: (id) => http.get(`${V}/roles/${id}`),
  createRole: (body) => http.post(`${V}/roles`, body),
  sessions: () => http.get(`${V}/sessions`),
  revokeSession: (id) => http.del(`${V}/sessions/${id}`),
  loginEvents: (query) => http.get(`${V}/login-events`, query),
}

export const alertsApi = {
  list: (query) => http.get(`${V}/alerts`, query),
  markRead: (id) => http.post(`${V}/alerts/${id}/read`),
}

export const auditApi = {
  events: (query) => http.get(`${V}/audit/events`, query),
  verify: () => http.post(`${V}/audit/verify`),
  checkpoint: () => http.post(`${V}/audit/checkpoints`),
  exportEvents: (query) => request('GET', `${V}/audit/events/export`, { query, download: true }),
}
