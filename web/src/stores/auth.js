// The signed-in user as GET /api/v1/auth/me describes them. Nothing here is persisted: the
// session lives in the HttpOnly cookie, and its CSRF token only in this store's memory — from
// the login answer, and after a reload from GET /auth/me (which names it for a cookie session).
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { authApi } from '@/api'
import { ApiError } from '@/api/client'
import { permitted } from '@/utils/permissions'

export const useAuthStore = defineStore('auth', () => {
  const me = ref(null)
  const loaded = ref(false)
  const csrf = ref({ token: '', header: 'X-CSRF-Token' })
  // The password typed at login is kept nowhere; a pending login step (TOTP) keeps the user
  // name only, and the password in the login form's own memory until the step succeeds.

  const isAuthenticated = computed(() => !!me.value)
  const pendingStep = computed(() => {
    if (!me.value) return null
    if (me.value.must_change_password) return 'password'
    if (me.value.mfa_enrollment_required) return 'totp'
    return null
  })
  const permissions = computed(() => (me.value ? me.value.permissions || [] : []))

  function can(perm) {
    if (!me.value || pendingStep.value) return false
    if (Array.isArray(perm)) return perm.some((p) => permitted(permissions.value, p))
    return permitted(permissions.value, perm)
  }

  async function login(username, password, totp) {
    const r = await authApi.login(username, password, totp)
    setCsrf(r.csrf_token, r.csrf_header)
    await loadMe()
    return r
  }

  async function loadMe() {
    try {
      const m = await authApi.me()
      if (m && m.csrf_token) setCsrf(m.csrf_token, m.csrf_header)
      me.value = m
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        clear()
      } else {
        throw e
      }
    } finally {
      loaded.value = true
    }
    return me.value
  }

  async function logout() {
    try {
      await authApi.logout()
    } catch { /* the session may be gone already; the client state is cleared anyway */ }
    clear()
  }

  function setCsrf(token, header) {
    csrf.value = { token: token || '', header: header || 'X-CSRF-Token' }
  }

  function clear() {
    me.value = null
    setCsrf('', '')
  }

  // This session's id (GET /auth/me), e.g. to mark it in the sessions list.
  const sessionId = computed(() => (me.value && me.value.session_id) || '')

  return { me, loaded, csrf, sessionId, isAuthenticated, pendingStep, permissions, can, login, loadMe, logout, clear }
})
