// Validation errors from the API name the field ("body.name"): show them beside that form item.
//   const fe = useFormErrors(['code', 'name'])
//   <el-form-item :error="fe.errors.name"> …
//   catch (e) { if (!fe.apply(e)) general.value = e }
import { reactive } from 'vue'
import { ApiError } from '@/api/client'
import { bodyField, errorMessage, fieldConflict, fieldHint } from '@/utils/errors'
import { t } from '@/i18n'

export function useFormErrors(fields) {
  const errors = reactive(Object.fromEntries(fields.map((f) => [f, ''])))

  function clear() {
    for (const f of Object.keys(errors)) errors[f] = ''
  }

  /** true when the error was shown beside a field of this form. */
  function apply(err) {
    clear()
    if (!(err instanceof ApiError)) return false
    const name = bodyField(err.field)
    if (!name || !(name in errors)) return false
    // A 409 naming a field says the value is taken; other refusals may have a hint.
    const conflict = err.code === 'conflict' ? fieldConflict(err.field) : ''
    const hint = err.code === 'conflict' ? '' : fieldHint(err.field)
    const text = conflict || (hint ? t('validation.withHint', { message: errorMessage(err), hint }) : errorMessage(err))
    // Re-assign on the next tick so el-form-item notices a repeated message.
    setTimeout(() => { errors[name] = text }, 0)
    return true
  }

  return { errors, clear, apply }
}
