// Sensitive actions (unmask, export, role and clearance changes) may answer 401 reauth_required:
// withReauth(fn) then asks for the password (ReauthDialog, mounted once in MainLayout), calls
// POST /api/v1/auth/reauth and runs fn again. Cancelling rejects with the original error.
import { reactive } from 'vue'
import { ApiError } from '@/api/client'

export const reauthState = reactive({ visible: false, resolve: null, reject: null })

function askPassword() {
  return new Promise((resolve, reject) => {
    reauthState.resolve = resolve
    reauthState.reject = reject
    reauthState.visible = true
  })
}

export async function withReauth(fn) {
  try {
    return await fn()
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'reauth_required') throw e
    try {
      await askPassword()
    } catch {
      throw e
    }
    return fn()
  }
}
