import { createApp } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import * as Icons from '@element-plus/icons-vue'
import App from './App.vue'
import { router } from './router'
import { i18n } from './i18n'
import { configureClient } from './api/client'
import { useAuthStore } from './stores/auth'
import './styles/main.css'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
app.use(router)
app.use(ElementPlus)
for (const [name, comp] of Object.entries(Icons)) app.component(`Icon${name}`, comp)

const auth = useAuthStore(pinia)
configureClient({ getLang: () => i18n.global.locale.value, getCsrf: () => auth.csrf })
app.mount('#app')
