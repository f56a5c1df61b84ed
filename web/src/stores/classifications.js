// The organisation's sensitivity classes (GET /api/v1/classifications: level, code, name_zh,
// name_en), least sensitive first. Clearance levels are shown by these names; until they are
// loaded (or if the request fails) the default four names of the translations are used.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { accessApi } from '@/api'
import { i18n, t, te } from '@/i18n'

export const useClassificationStore = defineStore('classifications', () => {
  const levels = ref(null)
  let pending = null

  function load() {
    if (levels.value) return Promise.resolve(levels.value)
    if (!pending) {
      pending = accessApi.classifications()
        .then((r) => { levels.value = r.items || [] })
        .catch(() => { levels.value = null })
        .finally(() => { pending = null })
    }
    return pending
  }

  function label(level) {
    const l = levels.value && levels.value.find((x) => x.level === level)
    if (l) return i18n.global.locale.value === 'en' ? l.name_en : l.name_zh
    return te(`clearance.${level}`) ? t(`clearance.${level}`) : t('common.levelRef', { level })
  }

  const options = computed(() => (levels.value && levels.value.length ? levels.value.map((l) => l.level) : [0, 1, 2, 3]))

  function clear() {
    levels.value = null
  }

  return { levels, load, label, options, clear }
})
