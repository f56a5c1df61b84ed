// The approval engine (issue #5): form types, process definitions, instances and the actions on
// their tasks; the to-do centre and notifications. See GET /api/v1/openapi.json (tags workflow, todo).
import { http, request } from './client'
import { fetchAll } from '@/utils/paging'

const V = '/api/v1'

export const workflowApi = {
  formTypes: () => http.get(`${V}/workflow/form-types`),
  // The latest version of each process, or every version of one key: all pages of them.
  definitions: async (key) => ({
    items: await fetchAll((q) => http.get(`${V}/workflow/definitions`, q), key ? { key } : {}),
  }),
  definition: (id) => http.get(`${V}/workflow/definitions/${id}`),
  saveDefinition: (body) => http.post(`${V}/workflow/definitions`, body),
  retireDefinition: (id) => http.post(`${V}/workflow/definitions/${id}/retire`),

  instances: (query) => http.get(`${V}/workflow/instances`, query),
  instance: (id) => http.get(`${V}/workflow/instances/${id}`),
  // subject_id: the record the form is about (an asset for a disposal or a handover), if any.
  start: (definition_key, form, subject_id) => http.post(`${V}/workflow/instances`, subject_id ? { definition_key, form, subject_id } : { definition_key, form }),
  withdraw: (id, reason) => http.post(`${V}/workflow/instances/${id}/withdraw`, reason ? { reason } : {}),
  terminate: (id, reason) => http.post(`${V}/workflow/instances/${id}/terminate`, { reason }),
  resubmit: (id, form) => http.post(`${V}/workflow/instances/${id}/resubmit`, form ? { form } : {}),
  comment: (id, text) => http.post(`${V}/workflow/instances/${id}/comments`, { text }),
  attach: (id, file) =>
    request('POST', `${V}/workflow/instances/${id}/attachments`, { query: { name: file.name }, rawBody: file, contentType: attachmentType(file) }),
  attachment: (id, attachmentId) => request('GET', `${V}/workflow/instances/${id}/attachments/${attachmentId}`, { download: true }),

  // Task actions: each answers the instance as it is afterwards.
  approve: (taskId, comment) => http.post(`${V}/workflow/tasks/${taskId}/approve`, comment ? { comment } : {}),
  reject: (taskId, reason) => http.post(`${V}/workflow/tasks/${taskId}/reject`, { reason }),
  sendBack: (taskId, reason, target_node) => http.post(`${V}/workflow/tasks/${taskId}/return`, target_node ? { reason, target_node } : { reason }),
  transfer: (taskId, user_id, comment) => http.post(`${V}/workflow/tasks/${taskId}/transfer`, { user_id, ...(comment ? { comment } : {}) }),
  delegate: (taskId, user_id, comment) => http.post(`${V}/workflow/tasks/${taskId}/delegate`, { user_id, ...(comment ? { comment } : {}) }),
  resolve: (taskId, comment) => http.post(`${V}/workflow/tasks/${taskId}/resolve`, comment ? { comment } : {}),
  addApprover: (taskId, user_id, position, comment) =>
    http.post(`${V}/workflow/tasks/${taskId}/add-approver`, { user_id, position, ...(comment ? { comment } : {}) }),
}

// The types the attachment upload declares; anything else is sent as bytes.
const ATTACHMENT_TYPES = ['application/pdf', 'image/png', 'image/jpeg', 'text/plain']
function attachmentType(file) {
  return ATTACHMENT_TYPES.includes(file && file.type) ? file.type : 'application/octet-stream'
}

export const todoApi = {
  overview: () => http.get(`${V}/todo`),
  counts: () => http.get(`${V}/todo/counts`),
  pending: (query) => http.get(`${V}/todo/pending`, query),
  done: (query) => http.get(`${V}/todo/done`, query),
  started: (query) => http.get(`${V}/todo/started`, query),
  cc: (query) => http.get(`${V}/todo/cc`, query),
  tasks: (query) => http.get(`${V}/todo/tasks`, query),
}

export const notificationsApi = {
  list: (query) => http.get(`${V}/notifications`, query),
  markRead: (id) => http.post(`${V}/notifications/${id}/read`),
  readAll: () => http.post(`${V}/notifications/read-all`),
}
