import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import enEl from 'element-plus/es/locale/lang/en'
import { i18n, initialLocale, saveLocale, LOCALES } from '@/i18n'

export const useLocaleStore = defineStore('locale', () => {
  const locale = ref(initialLocale())
  const elementLocale = computed(() => (locale.value === 'en' ? enEl : zhCn))

  function apply() {
    i18n.global.locale.value = locale.value
    document.documentElement.lang = locale.value
  }

  function setLocale(next) {
    if (!LOCALES.includes(next)) return
    locale.value = next
    saveLocale(next)
    apply()
  }

  apply()
  return { locale, elementLocale, setLocale, locales: LOCALES }
})
