// A small API client for setting up data (Bearer tokens, like a script would).
import { totpAt } from './totp.mjs'
import { markUsed } from './totp.mjs'

export const PASSWORD = 'Ward-7 Lantern quay'

export class Api {
  constructor(base, token = '') {
    this.base = base
    this.token = token
  }

  async req(method, path, body, headers = {}) {
    const h = { 'Accept-Language': 'en', ...headers }
    if (this.token) h.Authorization = `Bearer ${this.token}`
    if (body !== undefined) h['Content-Type'] = 'application/json'
    const r = await fetch(this.base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await r.text()
    const json = text ? JSON.parse(text) : null
    if (!r.ok) {
      const e = new Error(`${method} ${path} → ${r.status} ${json && json.code} ${json && json.detail}`)
      e.status = r.status
      e.body = json
      throw e
    }
    return json
  }

  get(p) { return this.req('GET', p) }
  post(p, b = {}) { return this.req('POST', p, b) }
  put(p, b) { return this.req('PUT', p, b) }

  static async login(base, username, password, totp) {
    const api = new Api(base)
    const r = await api.post('/api/v1/auth/login', totp ? { username, password, totp } : { username, password })
    api.token = r.token
    return api
  }
}

/** First login of an administrator through the API: new password, TOTP enrolled. */
export async function activateAdmin(base, account) {
  const api = await Api.login(base, account.username, account.password)
  await api.post('/api/v1/auth/password', { old_password: account.password, new_password: PASSWORD })
  const { secret } = await api.post('/api/v1/auth/totp/enroll')
  const step = Math.floor(Date.now() / 1000 / 30)
  await api.post('/api/v1/auth/totp/confirm', { code: totpAt(secret, step) })
  markUsed(secret, step)
  return { api, secret }
}
