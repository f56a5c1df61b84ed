// Checks the translations: both locales have the same keys, every error code the server can
// send (src/platform/errors/error.cpp) has a message, and every literal key used in the sources
// t('…') exists. Exit 1 with a list of problems.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const load = async (f) => (await import(pathToFileURL(path.join(web, 'src/i18n/locales', f)).href)).default
const zh = await load('zh-CN.js')
const en = await load('en.js')

const flat = (o, p = '', out = new Set()) => {
  for (const [k, v] of Object.entries(o)) {
    const key = p ? `${p}.${k}` : k
    if (v && typeof v === 'object') flat(v, key, out)
    else out.add(key)
  }
  return out
}
const zk = flat(zh)
const ek = flat(en)
const problems = []
for (const k of zk) if (!ek.has(k)) problems.push(`en.js lacks ${k}`)
for (const k of ek) if (!zk.has(k)) problems.push(`zh-CN.js lacks ${k}`)

const errorCpp = path.join(web, '..', 'src/platform/errors/error.cpp')
if (fs.existsSync(errorCpp)) {
  for (const m of fs.readFileSync(errorCpp, 'utf8').matchAll(/\{"([a-z_]+)", \d{3},/g)) {
    if (!zk.has(`errors.${m[1]}`)) problems.push(`no message for error code ${m[1]}`)
  }
}

const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]))
const prefixes = new Set([...zk].flatMap((k) => k.split('.').map((_, i, a) => a.slice(0, i + 1).join('.'))))
for (const f of walk(path.join(web, 'src')).filter((f) => /\.(vue|js)$/.test(f) && !f.includes('/locales/'))) {
  const src = fs.readFileSync(f, 'utf8')
  for (const m of src.matchAll(/\bt\('([a-zA-Z0-9_.]+)'/g)) if (!zk.has(m[1])) problems.push(`${path.relative(web, f)}: unknown key ${m[1]}`)
  for (const m of src.matchAll(/title: '([a-zA-Z]+\.[a-zA-Z0-9_.]+)'/g)) if (!zk.has(m[1]) && !prefixes.has(m[1])) problems.push(`${path.relative(web, f)}: unknown title key ${m[1]}`)
}

if (problems.length) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log(`i18n: ${zk.size} keys in zh-CN and en, all error codes translated`)
