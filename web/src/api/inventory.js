// IT inventories, the software policy, violations and IP address management (issue #7, IT-5
// and IT-7; see GET /api/v1/openapi.json, tags inventory and network).
//  * inventories: agent tokens (the token is answered once, at creation), the review queue of
//    machines no asset matched, uploads of an agent's inventory file, an asset's last inventory;
//  * the policy: software rules (prohibit / allow, glob patterns; the allow list wins) and the
//    approved proxies;
//  * violations: raised by inventories or recorded by hand (IT-5 cases a–d), assigned to the
//    person concerned and their department head (mine=true), resolved with a resolution;
//  * the address plan: subnets and their allocations. Only the IT department changes it (403
//    it_department_only); a taken address or an overlapping subnet is 409 address_conflict
//    naming body.address or body.cidr.
import { http, request } from './client'

const V = '/api/v1'

export const inventoryApi = {
  agents: () => http.get(`${V}/inventory/agents`),
  // → the agent with `token`, shown once.
  createAgent: (name) => http.post(`${V}/inventory/agents`, { name }),
  revokeAgent: (id) => http.post(`${V}/inventory/agents/${id}/revoke`),
  // query: status (pending, linked, dismissed), limit, cursor
  queue: (query) => http.get(`${V}/inventory/queue`, query),
  link: (id, assetId) => http.post(`${V}/inventory/queue/${id}/link`, { asset_id: assetId }),
  dismiss: (id) => http.post(`${V}/inventory/queue/${id}/dismiss`),
  // The raw file (fusioninventory-agent --local output, .ocs or .xml, plain or compressed) →
  // { outcome: matched | queued, asset_id, queue_id, matched_by, changed, violations_opened }.
  upload: (file) => request('POST', `${V}/inventory/uploads`, { rawBody: file, contentType: uploadType(file) }),
  // 404 not_found ("no inventory yet") when no inventory came for the asset.
  machine: (assetId) => http.get(`${V}/assets/${assetId}/machine`),
}

function uploadType(file) {
  const name = (file && file.name ? file.name : '').toLowerCase()
  if (name.endsWith('.xml') && file.type && file.type.includes('xml')) return 'application/xml'
  return 'application/octet-stream'
}

export const policyApi = {
  rules: () => http.get(`${V}/software-rules`),
  // body: { kind: prohibit | allow, category, name_pattern, publisher_pattern?, note? }
  addRule: (body) => http.post(`${V}/software-rules`, body),
  deleteRule: (id) => http.del(`${V}/software-rules/${id}`),
  proxies: () => http.get(`${V}/approved-proxies`),
  // body: { address: host:port, note? }
  addProxy: (body) => http.post(`${V}/approved-proxies`, body),
  deleteProxy: (id) => http.del(`${V}/approved-proxies/${id}`),
}

export const violationsApi = {
  // query: status, kind, asset_id, department_id, mine=true, limit, cursor
  list: (query) => http.get(`${V}/violations`, query),
  get: (id) => http.get(`${V}/violations/${id}`),
  // body: { kind: acceptable_use | other, use_case (a–d, for acceptable_use), user_id?, asset_id?, detail }
  create: (body) => http.post(`${V}/violations`, body),
  resolve: (id, resolution) => http.post(`${V}/violations/${id}/resolve`, { resolution }),
  // { open_by_department: [{ department_id, department_name, open }], open_by_kind: { kind: n } }
  summary: () => http.get(`${V}/violations/summary`),
}

export const networkApi = {
  subnets: () => http.get(`${V}/subnets`),
  // body: { cidr, name?, vlan?, gateway?, dhcp_start?, dhcp_end?, department_id?, note? }
  createSubnet: (body) => http.post(`${V}/subnets`, body),
  deleteSubnet: (id) => http.del(`${V}/subnets/${id}`),
  allocations: (subnetId) => http.get(`${V}/subnets/${subnetId}/allocations`),
  // body: { address? (absent: the first free one), kind: allocation | reservation, asset_id?, note? }
  allocate: (subnetId, body) => http.post(`${V}/subnets/${subnetId}/allocations`, body),
  release: (id) => http.del(`${V}/ip-allocations/${id}`),
  ofAsset: (assetId) => http.get(`${V}/assets/${assetId}/addresses`),
}
