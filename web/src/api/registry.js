// The service information registry (issue #6): customers with their consents and data-subject
// requests, service requests with assignment, transitions, comments and feedback, the request
// types, priorities and SLA targets, and the registers' imports and exports. Personal fields
// arrive masked; only unmaskCustomer answers them in clear (see GET /api/v1/openapi.json, tag
// registry).
import { http, request } from './client'

const V = '/api/v1'

export const registryApi = {
  // ---- customers
  customers: (query) => http.get(`${V}/customers`, query),
  customer: (id) => http.get(`${V}/customers/${id}`),
  createCustomer: (body) => http.post(`${V}/customers`, body),
  updateCustomer: (id, body, etag) => http.patch(`${V}/customers/${id}`, body, etag),
  // fields: some of name, mobile, id_card, address, email → { field: clear value }
  unmaskCustomer: (id, fields, reason) => http.post(`${V}/customers/${id}/unmask`, { fields, reason }),
  reviewCustomer: (id) => http.post(`${V}/customers/${id}/review`),
  legalHold: (id, hold, reason) => http.post(`${V}/customers/${id}/legal-hold`, { hold, reason }),
  consents: (id) => http.get(`${V}/customers/${id}/consents`),
  addConsent: (id, body) => http.post(`${V}/customers/${id}/consents`, body),
  withdrawConsent: (id, consentId, reason) => http.post(`${V}/customers/${id}/consents/${consentId}/withdraw`, reason ? { reason } : {}),
  openSubjectRequest: (id, kind, detail) => http.post(`${V}/customers/${id}/subject-requests`, detail ? { kind, detail } : { kind }),
  // All the organisation's (registry:privacy:write); the API has no per-customer filter.
  subjectRequests: (query) => http.get(`${V}/subject-requests`, query),
  completeSubjectRequest: (id, note) => http.post(`${V}/subject-requests/${id}/complete`, note ? { note } : {}),

  // ---- service requests
  requests: (query) => http.get(`${V}/service-requests`, query),
  request: (id) => http.get(`${V}/service-requests/${id}`),
  createRequest: (body) => http.post(`${V}/service-requests`, body),
  updateRequest: (id, body, etag) => http.patch(`${V}/service-requests/${id}`, body, etag),
  assign: (id, body) => http.post(`${V}/service-requests/${id}/assign`, body),
  // action: start | resolve | close | reopen
  transition: (id, action, comment) => http.post(`${V}/service-requests/${id}/transitions`, comment ? { action, comment } : { action }),
  comments: (id) => http.get(`${V}/service-requests/${id}/comments`),
  addComment: (id, body) => http.post(`${V}/service-requests/${id}/comments`, { body }),
  feedback: (id) => http.get(`${V}/service-requests/${id}/feedback`),
  addFeedback: (id, body) => http.post(`${V}/service-requests/${id}/feedback`, body),

  // ---- configuration
  requestTypes: () => http.get(`${V}/service-request-types`),
  saveRequestType: (code, body) => http.put(`${V}/service-request-types/${encodeURIComponent(code)}`, body),
  priorities: () => http.get(`${V}/service-priorities`),
  slaTargets: () => http.get(`${V}/sla-targets`),
  saveSlaTarget: (body) => http.put(`${V}/sla-targets`, body),

  // ---- files. register: 'customers' | 'service-requests'. The imports answer as the
  // organisation's do (same report; a real run with errors is 422 with the report).
  importFile: (register, file, dryRun) =>
    request('POST', `${V}/${register}/import`, { query: { dry_run: dryRun ? 'true' : 'false' }, rawBody: file, contentType: fileType(file) }),
  importTemplate: (register, format) => request('GET', `${V}/${register}/import-template`, { query: { format }, download: true }),
  // Needs the register's export permission and a recent password (401 reauth_required); at most
  // privacy.export_per_hour exports an hour (429 too_many_requests).
  exportFile: (register, query) => request('GET', `${V}/${register}/export`, { query, download: true }),
}

function fileType(file) {
  const name = (file && file.name ? file.name : '').toLowerCase()
  if (name.endsWith('.csv')) return 'text/csv'
  if (name.endsWith('.xlsx')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
  return 'application/octet-stream'
}
