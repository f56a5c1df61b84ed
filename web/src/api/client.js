// The one way the console talks to the API.
//  * credentials: the HttpOnly session cookie set by POST /api/v1/auth/login (same origin);
//    the session token itself is never read or stored by the console.
//  * writes (anything but GET/HEAD) carry the CSRF header the login response (or, after a reload,
//    GET /api/v1/auth/me) names. The token lives in memory only (the auth store): never in
//    sessionStorage or localStorage.
//  * Accept-Language follows the UI language, so the API's titles match what the user reads.
//  * errors: application/problem+json becomes an ApiError with the stable `code`, which the UI
//    translates (src/i18n/locales/*: errors.*). Network failures get the client code
//    `network_error`; a non-JSON error answer gets `http_<status>` mapped to a known code.

export class ApiError extends Error {
  constructor({ status = 0, code = 'network_error', title = '', detail = '', field = '', requestId = '', extra = {} } = {}) {
    super(code)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.title = title
    this.detail = detail
    this.field = field
    this.requestId = requestId
    this.extra = extra // other members of the problem (e.g. "report" of a failed import)
  }
}

const STATUS_CODES = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 408: 'request_timeout',
  409: 'conflict', 412: 'precondition_failed', 413: 'payload_too_large', 415: 'unsupported_media_type',
  422: 'unprocessable', 423: 'account_locked', 428: 'precondition_required', 429: 'too_many_requests',
  431: 'header_too_large', 500: 'internal_error', 502: 'service_unavailable', 503: 'service_unavailable',
  504: 'request_timeout',
}

const state = {
  getLang: () => 'zh-CN',
  // () => { token, header } of the signed-in session (the auth store); empty before login.
  getCsrf: () => null,
  listeners: [],
}

export function configureClient({ getLang, getCsrf } = {}) {
  if (getLang) state.getLang = getLang
  if (getCsrf) state.getCsrf = getCsrf
}

/** Called for every ApiError of a request (after the promise rejects). */
export function onApiError(fn) {
  state.listeners.push(fn)
}

function buildUrl(path, query) {
  const url = new URL(path, window.location.origin)
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue
      url.searchParams.set(k, String(v))
    }
  }
  return url.pathname + url.search
}

function filenameOf(disposition, fallback) {
  if (!disposition) return fallback
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition)
  if (star) {
    try { return decodeURIComponent(star[1]) } catch { /* fall through */ }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition)
  return plain ? plain[1] : fallback
}

/**
 * request('GET', '/api/v1/users', { query: { q: '王' } }) → parsed JSON (null for 204).
 * Options: query, body (JSON), rawBody + contentType (uploads), headers, download (→ { blob, filename }).
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json, application/problem+json', 'Accept-Language': state.getLang(), ...(opts.headers || {}) }
  let body
  if (opts.rawBody !== undefined) {
    body = opts.rawBody
    headers['Content-Type'] = opts.contentType || 'application/octet-stream'
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body)
    headers['Content-Type'] = 'application/json'
  }
  const csrf = method !== 'GET' && method !== 'HEAD' ? state.getCsrf() : null
  if (csrf && csrf.token) headers[csrf.header || 'X-CSRF-Token'] = csrf.token
  if (opts.download) headers.Accept = '*/*'

  let res
  try {
    res = await fetch(buildUrl(path, opts.query), { method, headers, body, credentials: 'same-origin', cache: 'no-store', signal: opts.signal })
  } catch (e) {
    if (e && e.name === 'AbortError') throw e
    throw emit(new ApiError({ status: 0, code: 'network_error' }))
  }
  if (res.ok) {
    if (opts.download) {
      return { blob: await res.blob(), filename: filenameOf(res.headers.get('Content-Disposition'), 'download') }
    }
    if (res.status === 204) return null
    const text = await res.text()
    if (!text) return null
    try { return JSON.parse(text) } catch { throw emit(new ApiError({ status: res.status, code: 'bad_response' })) }
  }
  throw emit(await problemOf(res))
}

async function problemOf(res) {
  const requestId = res.headers.get('X-Request-Id') || ''
  let p = null
  try {
    const text = await res.text()
    p = text ? JSON.parse(text) : null
  } catch { p = null }
  if (p && typeof p === 'object' && typeof p.code === 'string') {
    const { type, title, status, code, detail, field, request_id, ...extra } = p
    return new ApiError({ status: status || res.status, code, title: title || '', detail: detail || '', field: field || '', requestId: request_id || requestId, extra })
  }
  return new ApiError({ status: res.status, code: STATUS_CODES[res.status] || 'internal_error', requestId })
}

function emit(err) {
  // Listeners run after the caller's own handling had a chance to start.
  queueMicrotask(() => state.listeners.forEach((fn) => fn(err)))
  return err
}

export const http = {
  get: (path, query, opts = {}) => request('GET', path, { ...opts, query }),
  post: (path, body = {}, opts = {}) => request('POST', path, { ...opts, body }),
  put: (path, body = {}, opts = {}) => request('PUT', path, { ...opts, body }),
  patch: (path, body, etag, opts = {}) => request('PATCH', path, { ...opts, body, headers: { ...(opts.headers || {}), 'If-Match': etag } }),
  del: (path, opts = {}) => request('DELETE', path, opts),
}
