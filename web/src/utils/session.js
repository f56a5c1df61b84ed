// Logout (or a session that ended): forget everything the console holds about the user.
import { clearCsrf } from '@/api/client'
import { useTodoStore } from '@/stores/todo'
import { useClassificationStore } from '@/stores/classifications'

export function resetClientState() {
  clearCsrf()
  try { useTodoStore().clear() } catch { /* store not created */ }
  try { useClassificationStore().clear() } catch { /* store not created */ }
  try { sessionStorage.clear() } catch { /* ignore */ }
}
