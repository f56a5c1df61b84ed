import { createI18n } from 'vue-i18n'
import zhCN from './locales/zh-CN'
import en from './locales/en'

export const LOCALES = ['zh-CN', 'en']
export const DEFAULT_LOCALE = 'zh-CN'
const STORE_KEY = 'custos.locale' // the language choice only; nothing sensitive

export function initialLocale() {
  try {
    const saved = localStorage.getItem(STORE_KEY)
    if (LOCALES.includes(saved)) return saved
  } catch { /* storage unavailable */ }
  return DEFAULT_LOCALE
}

export function saveLocale(locale) {
  try { localStorage.setItem(STORE_KEY, locale) } catch { /* ignore */ }
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: DEFAULT_LOCALE,
  messages: { 'zh-CN': zhCN, en },
  missingWarn: false,
  fallbackWarn: false,
  datetimeFormats: {
    'zh-CN': { long: { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: 'Asia/Shanghai' } },
    en: { long: { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZone: 'Asia/Shanghai' } },
  },
})

export const t = (...args) => i18n.global.t(...args)
export const te = (key) => i18n.global.te(key) || i18n.global.te(key, DEFAULT_LOCALE)
