// Logout (or a session that ended): forget everything the console holds about the user.
import { useAuthStore } from '@/stores/auth'
import { useTodoStore } from '@/stores/todo'
import { useClassificationStore } from '@/stores/classifications'
import { useDirectoryStore } from '@/stores/directory'

export function resetClientState() {
  try { useAuthStore().clear() } catch { /* store not created */ }
  try { useTodoStore().clear() } catch { /* store not created */ }
  try { useClassificationStore().clear() } catch { /* store not created */ }
  try { useDirectoryStore().clear() } catch { /* store not created */ }
}
