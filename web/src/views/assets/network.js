// The address plan's refusals beside the field they name, in that field's words: a taken or
// DHCP address, or a subnet overlapping another, is 409 address_conflict naming body.address or
// body.cidr (net.conflict.*); a malformed or out-of-subnet value is 422 validation_failed
// (net.invalid.*). Anything else as useFormErrors says it.
import { ApiError } from '@/api/client'
import { bodyField } from '@/utils/errors'
import { t, te } from '@/i18n'

export function applyAddressError(fe, err, { auto = false } = {}) {
  if (err instanceof ApiError && (err.code === 'address_conflict' || err.code === 'validation_failed')) {
    const f = bodyField(err.field)
    let msg = ''
    if (f && f in fe.errors) {
      if (err.code === 'address_conflict') {
        // No address was asked for: the subnet has no free one left.
        msg = f === 'address' && auto ? t('net.conflict.noFree') : t(`net.conflict.${f === 'cidr' ? 'cidr' : 'address'}`)
      } else if (te(`net.invalid.${f}`)) {
        msg = t(`net.invalid.${f}`)
      }
    }
    if (msg) {
      fe.clear()
      // Re-assigned on the next tick so el-form-item notices a repeated message.
      setTimeout(() => { fe.errors[f] = msg }, 0)
      return true
    }
  }
  return fe.apply(err)
}
