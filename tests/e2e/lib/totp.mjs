// RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) for the test accounts. The server refuses a step it
// has already accepted for the account, so `nextCode` remembers the last step used per secret.
import crypto from 'node:crypto'

export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  const clean = s.replace(/[\s=]/g, '').toUpperCase()
  let bits = 0
  let value = 0
  const out = []
  for (const ch of clean) {
    const v = alphabet.indexOf(ch)
    if (v < 0) throw new Error(`not base32: ${ch}`)
    value = (value << 5) | v
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

export function totpAt(secret, step) {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(step))
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(msg).digest()
  const off = mac[mac.length - 1] & 0x0f
  const code = (mac.readUInt32BE(off) & 0x7fffffff) % 1_000_000
  return String(code).padStart(6, '0')
}

const currentStep = () => Math.floor(Date.now() / 1000 / 30)
const lastUsed = new Map()

/** A code the server will accept now and has not seen: a later step than the last one used. */
export async function nextCode(secret) {
  const last = lastUsed.get(secret) ?? -Infinity
  const step = Math.max(last + 1, currentStep())
  // The server accepts the current step ±1: wait while the wanted step is still too far ahead.
  while (step > currentStep() + 1) await new Promise((r) => setTimeout(r, 500))
  lastUsed.set(secret, step)
  return totpAt(secret, step)
}

export function markUsed(secret, step = currentStep()) {
  lastUsed.set(secret, Math.max(lastUsed.get(secret) ?? -Infinity, step))
}
