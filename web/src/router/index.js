// Routes. A page is one entry in `pages` (below): its path, its view, the translation key of its
// title, the permission(s) it needs (any of them), and the menu area it belongs to. The sidebar
// (src/layouts/menu.js) is built from the same list, so a page the user may not open is not
// offered.
import { createRouter, createWebHistory } from 'vue-router'
import { useAuthStore } from '@/stores/auth'
import MainLayout from '@/layouts/MainLayout.vue'
import AuthLayout from '@/layouts/AuthLayout.vue'

export const pages = [
  { path: '/todo', name: 'todo', component: () => import('@/views/todo/TodoView.vue'), meta: { title: 'menu.todo', area: 'work', icon: 'Finished' } },
  { path: '/dashboard', name: 'dashboard', component: () => import('@/views/dashboard/DashboardView.vue'), meta: { title: 'menu.dashboard', area: 'work', icon: 'DataAnalysis' } },
  // Violations assigned to the caller (the person concerned or their department head): everyone.
  { path: '/my-violations', name: 'my-violations', component: () => import('@/views/assets/ViolationsView.vue'), meta: { title: 'menu.myViolations', area: 'work', icon: 'WarningFilled', mine: true } },

  { path: '/registry/requests/new', name: 'request-new', component: () => import('@/views/registry/RequestNewView.vue'), meta: { title: 'menu.requestNew', area: 'registry', icon: 'EditPen', perm: 'registry:requests:write' } },
  { path: '/registry/requests', name: 'service-requests', component: () => import('@/views/registry/RequestsView.vue'), meta: { title: 'menu.serviceRequests', area: 'registry', icon: 'Headset', perm: 'registry:requests:read' } },
  { path: '/registry/requests/:id', name: 'service-request', component: () => import('@/views/registry/RequestDetailView.vue'), meta: { title: 'sr.detailTitle', area: 'registry', parent: 'service-requests', hidden: true, perm: 'registry:requests:read' } },
  { path: '/registry/customers', name: 'customers', component: () => import('@/views/registry/CustomersView.vue'), meta: { title: 'menu.customers', area: 'registry', icon: 'Avatar', perm: 'registry:customers:read' } },
  { path: '/registry/customers/:id', name: 'customer', component: () => import('@/views/registry/CustomerDetailView.vue'), meta: { title: 'customer.detailTitle', area: 'registry', parent: 'customers', hidden: true, perm: 'registry:customers:read' } },
  { path: '/registry/subject-requests', name: 'subject-requests', component: () => import('@/views/registry/SubjectRequestsView.vue'), meta: { title: 'menu.subjectRequests', area: 'registry', icon: 'Postcard', perm: 'registry:privacy:write' } },
  { path: '/registry/sla', name: 'sla-settings', component: () => import('@/views/registry/SlaSettingsView.vue'), meta: { title: 'menu.slaSettings', area: 'registry', icon: 'Timer', perm: 'registry:config:write' } },

  { path: '/assets', name: 'assets', component: () => import('@/views/assets/AssetsView.vue'), meta: { title: 'menu.assets', area: 'assets', icon: 'Notebook', perm: 'assets:equipment:read' } },
  { path: '/assets/inventory', name: 'inventory', component: () => import('@/views/assets/InventoryView.vue'), meta: { title: 'menu.inventory', area: 'assets', icon: 'Monitor', perm: 'assets:inventory:read' } },
  { path: '/assets/network', name: 'network', component: () => import('@/views/assets/NetworkView.vue'), meta: { title: 'menu.network', area: 'assets', icon: 'Connection', perm: 'assets:network:read' } },
  { path: '/assets/policy', name: 'software-policy', component: () => import('@/views/assets/PolicyView.vue'), meta: { title: 'menu.softwarePolicy', area: 'assets', icon: 'Filter', perm: 'assets:inventory:read' } },
  { path: '/assets/violations', name: 'violations', component: () => import('@/views/assets/ViolationsView.vue'), meta: { title: 'menu.violations', area: 'assets', icon: 'Warning', perm: 'assets:violations:read' } },
  { path: '/assets/:id', name: 'asset', component: () => import('@/views/assets/AssetDetailView.vue'), meta: { title: 'asset.detailTitle', area: 'assets', parent: 'assets', hidden: true, perm: 'assets:equipment:read' } },

  { path: '/approvals/new', name: 'approval-start', component: () => import('@/views/approvals/StartView.vue'), meta: { title: 'menu.approvalStart', area: 'approvals', icon: 'EditPen' } },
  { path: '/approvals/instances', name: 'approvals', component: () => import('@/views/approvals/InstancesView.vue'), meta: { title: 'menu.approvals', area: 'approvals', icon: 'Tickets' } },
  { path: '/approvals/instances/:id', name: 'approval-instance', component: () => import('@/views/approvals/InstanceView.vue'), meta: { title: 'wf.detail.title', area: 'approvals', parent: 'approvals', hidden: true } },
  { path: '/approvals/definitions', name: 'definitions', component: () => import('@/views/approvals/DefinitionsView.vue'), meta: { title: 'menu.definitions', area: 'approvals', icon: 'SetUp', perm: 'workflow:definitions:write' } },
  { path: '/approvals/definitions/new', name: 'definition-new', component: () => import('@/views/approvals/DefinitionEditView.vue'), meta: { title: 'def.createTitle', area: 'approvals', parent: 'definitions', hidden: true, perm: 'workflow:definitions:write' } },
  { path: '/approvals/definitions/:id', name: 'definition', component: () => import('@/views/approvals/DefinitionView.vue'), meta: { title: 'def.detailTitle', area: 'approvals', parent: 'definitions', hidden: true, perm: 'workflow:definitions:write' } },
  { path: '/approvals/definitions/:id/edit', name: 'definition-edit', component: () => import('@/views/approvals/DefinitionEditView.vue'), meta: { title: 'def.newVersion', area: 'approvals', parent: 'definitions', hidden: true, perm: 'workflow:definitions:write' } },

  { path: '/org/departments', name: 'departments', component: () => import('@/views/org/DepartmentsView.vue'), meta: { title: 'menu.departments', area: 'org', icon: 'OfficeBuilding', perm: 'org:departments:read' } },
  { path: '/org/users', name: 'users', component: () => import('@/views/org/UsersView.vue'), meta: { title: 'menu.users', area: 'org', icon: 'User', perm: 'org:users:read' } },
  { path: '/org/users/:id', name: 'user-detail', component: () => import('@/views/org/UserDetailView.vue'), meta: { title: 'user.detailTitle', area: 'org', perm: 'org:users:read', parent: 'users', hidden: true } },
  { path: '/org/posts', name: 'posts', component: () => import('@/views/org/PostsView.vue'), meta: { title: 'menu.posts', area: 'org', icon: 'Postcard', perm: 'org:posts:read' } },
  { path: '/org/offboarding', name: 'offboarding', component: () => import('@/views/org/OffboardingView.vue'), meta: { title: 'menu.offboarding', area: 'org', icon: 'Switch', perm: 'org:users:read' } },
  { path: '/org/import', name: 'import', component: () => import('@/views/org/ImportView.vue'), meta: { title: 'menu.import', area: 'org', icon: 'Upload', perm: ['org:departments:write', 'org:users:write'] } },

  { path: '/access/roles', name: 'roles', component: () => import('@/views/access/RolesView.vue'), meta: { title: 'menu.roles', area: 'access', icon: 'Key', perm: 'iam:roles:read' } },
  { path: '/access/sessions', name: 'sessions', component: () => import('@/views/access/SessionsView.vue'), meta: { title: 'menu.sessions', area: 'access', icon: 'Monitor', perm: 'iam:sessions:read' } },
  { path: '/access/classifications', name: 'classifications', component: () => import('@/views/access/ClassificationsView.vue'), meta: { title: 'menu.classifications', area: 'access', icon: 'Medal', perm: 'iam:classifications:write' } },
  { path: '/access/grants', name: 'grants', component: () => import('@/views/access/GrantsView.vue'), meta: { title: 'menu.grants', area: 'access', icon: 'Unlock', perm: 'iam:grants:read' } },
  { path: '/access/login-log', name: 'login-log', component: () => import('@/views/access/LoginLogView.vue'), meta: { title: 'menu.loginLog', area: 'access', icon: 'Tickets', perm: ['iam:sessions:read', 'audit:events:read'] } },

  { path: '/audit/events', name: 'audit', component: () => import('@/views/audit/AuditView.vue'), meta: { title: 'menu.audit', area: 'audit', icon: 'DocumentChecked', perm: 'audit:events:read' } },

  { path: '/account/password', name: 'account-password', component: () => import('@/views/account/AccountView.vue'), meta: { title: 'account.title', area: 'account', hidden: true } },
]

const routes = [
  {
    path: '/login',
    component: AuthLayout,
    children: [{ path: '', name: 'login', component: () => import('@/views/auth/LoginView.vue'), meta: { public: true, title: 'login.title' } }],
  },
  {
    path: '/setup',
    component: AuthLayout,
    children: [
      { path: 'password', name: 'setup-password', component: () => import('@/views/auth/ChangePasswordView.vue'), meta: { step: 'password', title: 'setupPassword.title' } },
      { path: 'totp', name: 'setup-totp', component: () => import('@/views/auth/TotpEnrollView.vue'), meta: { step: 'totp', title: 'totp.title' } },
    ],
  },
  {
    path: '/',
    component: MainLayout,
    children: [
      { path: '', redirect: '/todo' },
      ...pages,
      { path: ':rest(.*)*', name: 'not-found', component: () => import('@/views/errors/NotFoundView.vue'), meta: { title: 'notFound.title' } },
    ],
  },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

router.beforeEach(async (to) => {
  const auth = useAuthStore()
  if (!auth.loaded) {
    try {
      await auth.loadMe()
    } catch {
      // The API is unreachable: let public pages and the layout's error panel speak.
    }
  }
  if (to.meta.public) {
    if (auth.isAuthenticated && !auth.pendingStep) return { path: '/todo' }
    return true
  }
  if (!auth.isAuthenticated) {
    return { name: 'login', query: to.fullPath && to.fullPath !== '/' && to.fullPath !== '/todo' ? { redirect: to.fullPath } : {} }
  }
  const step = auth.pendingStep
  if (step === 'password' && to.name !== 'setup-password') return { name: 'setup-password' }
  if (step === 'totp' && to.name !== 'setup-totp') return { name: 'setup-totp' }
  if (!step && to.meta.step) return { path: '/todo' }
  if (to.meta.perm && !auth.can(to.meta.perm)) return { name: 'not-found', params: { rest: to.path.split('/').filter(Boolean) }, query: { forbidden: '1' } }
  return true
})
