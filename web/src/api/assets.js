// The equipment archive (issue #7, IT-1 … IT-7): assets with their purchase facts, department,
// custodian and designated repairer, a lifecycle of actions the server enforces, and each
// asset's history (see GET /api/v1/openapi.json, tag assets). Amounts are decimal strings in
// yuan ("4999.00").
import { http } from './client'

const V = '/api/v1'

export const assetsApi = {
  // query: limit, cursor, q (tag, serial, name or model), status, category, department_id, custodian_id
  list: (query) => http.get(`${V}/assets`, query),
  get: (id) => http.get(`${V}/assets/${id}`),
  create: (body) => http.post(`${V}/assets`, body),
  update: (id, body, etag) => http.patch(`${V}/assets/${id}`, body, etag),
  // body: { action, custodian_id?, location?, cost?, note? }; an action the state does not allow
  // is 409 transition_not_allowed, an external repair by anyone but the IT department 403
  // it_department_only.
  act: (id, body) => http.post(`${V}/assets/${id}/actions`, body),
  history: (id) => http.get(`${V}/assets/${id}/history`),
  // { by_status: { in_use: 12, … }, total } over the assets the caller may see.
  summary: () => http.get(`${V}/assets/summary`),
}
