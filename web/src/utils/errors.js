// problem+json codes → translated messages (errors.<code> in src/i18n/locales/*).
import { ApiError } from '@/api/client'
import { t, te } from '@/i18n'

export function errorMessage(err) {
  if (err instanceof ApiError) {
    if (te(`errors.${err.code}`)) return t(`errors.${err.code}`)
    return t('errors.unknown', { code: err.code })
  }
  return t('errors.client')
}

/** The hint for a field named by the API ("body.username"), when the translations have one. */
export function fieldHint(field) {
  const key = `fieldHints.${String(field || '').replace(/\./g, '_')}`
  return te(key) ? t(key) : ''
}

/** The message for a field the API names in a 409 ("body.code" → "this code is already in use"). */
export function fieldConflict(field) {
  const key = `fieldConflicts.${String(field || '').replace(/\./g, '_')}`
  return te(key) ? t(key) : ''
}

/** "body.department_id" → "department_id"; null when the field is not part of a request body. */
export function bodyField(field) {
  if (!field) return null
  const m = /^(?:body|query)\.(.+)$/.exec(field)
  return m ? m[1] : null
}
