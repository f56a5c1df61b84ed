#include "platform/storage/migrations.h"

#include <array>
#include <chrono>

namespace custos::db {
namespace {

// Append only: a released migration is never edited, a change is a new number.
constexpr std::array kMigrations = {
    Migration{1, "organizations", R"SQL(
CREATE TABLE organizations (
  id {{ID}},
  code TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
INSERT INTO organizations (code, name, created_at) VALUES ('default', '默认机构', 0);
)SQL"},
    Migration{2, "diagnostic_writes", R"SQL(
CREATE TABLE diagnostic_writes (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX diagnostic_writes_org ON diagnostic_writes (org_id, id);
)SQL"},
    Migration{3, "identity", R"SQL(
CREATE TABLE departments (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  parent_id BIGINT REFERENCES departments(id),
  head_user_id BIGINT,
  kind TEXT NOT NULL DEFAULT 'normal',
  path TEXT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX departments_org_code ON departments (org_id, code);
CREATE INDEX departments_org_path ON departments (org_id, path);

CREATE TABLE posts (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  department_id BIGINT REFERENCES departments(id),
  approval_authority INTEGER NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX posts_org_code ON posts (org_id, code);

CREATE TABLE users (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  username TEXT NOT NULL,
  employee_no TEXT,
  name TEXT NOT NULL,
  email TEXT,
  department_id BIGINT REFERENCES departments(id),
  manager_id BIGINT REFERENCES users(id),
  clearance INTEGER NOT NULL DEFAULT 1,
  status TEXT NOT NULL DEFAULT 'active',
  admin_role TEXT,
  password_hash TEXT,
  must_change_password INTEGER NOT NULL DEFAULT 1,
  password_changed_at BIGINT,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until BIGINT,
  totp_secret TEXT,
  totp_enabled INTEGER NOT NULL DEFAULT 0,
  totp_last_step BIGINT,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_org_username ON users (org_id, username);
CREATE UNIQUE INDEX users_org_employee_no ON users (org_id, employee_no);
CREATE INDEX users_org_department ON users (org_id, department_id);

CREATE TABLE user_posts (
  org_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL REFERENCES users(id),
  post_id BIGINT NOT NULL REFERENCES posts(id),
  PRIMARY KEY (org_id, user_id, post_id)
);

CREATE TABLE roles (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  scope TEXT NOT NULL DEFAULT 'own',
  builtin INTEGER NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX roles_org_code ON roles (org_id, code);

CREATE TABLE role_permissions (
  org_id BIGINT NOT NULL,
  role_id BIGINT NOT NULL REFERENCES roles(id),
  permission TEXT NOT NULL,
  PRIMARY KEY (org_id, role_id, permission)
);

CREATE TABLE role_departments (
  org_id BIGINT NOT NULL,
  role_id BIGINT NOT NULL REFERENCES roles(id),
  department_id BIGINT NOT NULL REFERENCES departments(id),
  PRIMARY KEY (org_id, role_id, department_id)
);

CREATE TABLE user_roles (
  org_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL REFERENCES users(id),
  role_id BIGINT NOT NULL REFERENCES roles(id),
  PRIMARY KEY (org_id, user_id, role_id)
);

CREATE TABLE sessions (
  org_id BIGINT NOT NULL,
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  token_hash TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT,
  scopes TEXT,
  csrf_hash TEXT,
  ip TEXT,
  user_agent TEXT,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  reauth_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_reason TEXT
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);
CREATE INDEX sessions_org_user ON sessions (org_id, user_id);

CREATE TABLE login_events (
  org_id BIGINT NOT NULL,
  id {{ID}},
  user_id BIGINT,
  username TEXT NOT NULL,
  ip TEXT,
  user_agent TEXT,
  outcome TEXT NOT NULL,
  reason TEXT,
  at BIGINT NOT NULL
);
CREATE INDEX login_events_org_at ON login_events (org_id, at);
CREATE INDEX login_events_ip_at ON login_events (ip, at);
)SQL"},
    Migration{4, "audit_events", R"SQL(
CREATE TABLE audit_events (
  org_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  at BIGINT NOT NULL,
  actor_user_id BIGINT,
  session_id BIGINT,
  ip TEXT,
  request_id TEXT,
  action TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  outcome TEXT NOT NULL,
  error_code TEXT,
  changes TEXT,
  reason TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (org_id, seq)
);
CREATE INDEX audit_events_org_at ON audit_events (org_id, at);
CREATE INDEX audit_events_org_actor ON audit_events (org_id, actor_user_id, seq);
CREATE TABLE audit_heads (
  org_id BIGINT PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_heads (org_id, seq, hash) VALUES (1, 0, '');
)SQL",
              R"SQL(
CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
)SQL",
              R"SQL(
CREATE FUNCTION custos_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION custos_audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION custos_audit_append_only();
)SQL"},
    Migration{5, "builtin_roles", R"SQL(
INSERT INTO roles (org_id, code, name, scope, builtin, created_at, updated_at) VALUES
  (1, 'system_admin', '系统管理员', 'all', 1, 0, 0),
  (1, 'security_admin', '安全管理员', 'all', 1, 0, 0),
  (1, 'audit_admin', '审计管理员', 'all', 1, 0, 0);
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, id, 'org:departments:read' FROM roles WHERE code = 'system_admin' UNION ALL
  SELECT 1, id, 'org:departments:write' FROM roles WHERE code = 'system_admin' UNION ALL
  SELECT 1, id, 'org:users:read' FROM roles WHERE code = 'system_admin' UNION ALL
  SELECT 1, id, 'org:users:write' FROM roles WHERE code = 'system_admin' UNION ALL
  SELECT 1, id, 'iam:roles:read' FROM roles WHERE code = 'system_admin' UNION ALL
  SELECT 1, id, 'system:config:read' FROM roles WHERE code = 'system_admin' UNION ALL
  SELECT 1, id, 'org:departments:read' FROM roles WHERE code = 'security_admin' UNION ALL
  SELECT 1, id, 'org:users:read' FROM roles WHERE code = 'security_admin' UNION ALL
  SELECT 1, id, 'iam:roles:read' FROM roles WHERE code = 'security_admin' UNION ALL
  SELECT 1, id, 'iam:roles:write' FROM roles WHERE code = 'security_admin' UNION ALL
  SELECT 1, id, 'iam:user_roles:write' FROM roles WHERE code = 'security_admin' UNION ALL
  SELECT 1, id, 'iam:clearances:write' FROM roles WHERE code = 'security_admin' UNION ALL
  SELECT 1, id, 'iam:sessions:read' FROM roles WHERE code = 'security_admin' UNION ALL
  SELECT 1, id, 'iam:sessions:revoke' FROM roles WHERE code = 'security_admin' UNION ALL
  SELECT 1, id, 'audit:events:read' FROM roles WHERE code = 'audit_admin' UNION ALL
  SELECT 1, id, 'audit:events:verify' FROM roles WHERE code = 'audit_admin';
)SQL"},
    // Bumped whenever what a user's grants resolve to may have changed (roles, role permissions,
    // department moves), so servers can cache grants per (user, version) without staleness.
    Migration{6, "authz_version", R"SQL(
ALTER TABLE users ADD COLUMN authz_version BIGINT NOT NULL DEFAULT 1;
)SQL"},
    // Offboarding (OA-4, IT-2): departure/transfer cases with their permission form and the
    // checks other modules register; a minimal alert inbox; and the leases of background jobs
    // (global, not per organisation: one job serves every organisation).
    Migration{7, "offboarding", R"SQL(
CREATE TABLE job_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE TABLE offboarding_cases (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL CHECK (kind IN ('departure', 'transfer')),
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'cancelled')),
  permission_form_status TEXT NOT NULL DEFAULT 'pending'
    CHECK (permission_form_status IN ('pending', 'done', 'overdue')),
  deadline_at BIGINT NOT NULL,
  target_department_id BIGINT REFERENCES departments(id),
  reason TEXT NOT NULL,
  opened_by BIGINT REFERENCES users(id),
  opened_at BIGINT NOT NULL,
  form_done_by BIGINT REFERENCES users(id),
  form_done_at BIGINT,
  completed_at BIGINT,
  cancelled_at BIGINT,
  closed_by BIGINT REFERENCES users(id),
  escalated_at BIGINT,
  version BIGINT NOT NULL DEFAULT 1,
  updated_at BIGINT NOT NULL
);
CREATE INDEX offboarding_cases_org_user ON offboarding_cases (org_id, user_id);
CREATE INDEX offboarding_cases_org_due
  ON offboarding_cases (org_id, status, permission_form_status, deadline_at);
-- At most one open case per user.
CREATE UNIQUE INDEX offboarding_cases_org_user_open ON offboarding_cases (org_id, user_id)
  WHERE status = 'open';

CREATE TABLE offboarding_checks (
  org_id BIGINT NOT NULL,
  case_id BIGINT NOT NULL REFERENCES offboarding_cases(id),
  check_name TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'done')),
  detail TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, case_id, check_name)
);

CREATE TABLE alerts (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  audience TEXT NOT NULL,
  kind TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  message_zh TEXT NOT NULL,
  message_en TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  read_at BIGINT,
  read_by BIGINT REFERENCES users(id)
);
CREATE INDEX alerts_org_audience ON alerts (org_id, audience, id);
CREATE INDEX alerts_org_object ON alerts (org_id, object_type, object_id);
)SQL"},
    // Posts (岗位) are the system administrator's to keep; everyone with organisation access
    // reads them.
    Migration{8, "post_permissions", R"SQL(
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, id, 'org:posts:read' FROM roles WHERE org_id = 1 AND code = 'system_admin' UNION ALL
  SELECT 1, id, 'org:posts:write' FROM roles WHERE org_id = 1 AND code = 'system_admin' UNION ALL
  SELECT 1, id, 'org:posts:read' FROM roles WHERE org_id = 1 AND code = 'security_admin';
)SQL"},
    // Signed checkpoints of each organisation's audit chain (audit/checkpoint.h): append-only
    // like the records they cover. The signing key lives outside the database.
    Migration{9, "audit_checkpoints", R"SQL(
CREATE TABLE audit_checkpoints (
  org_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  root TEXT NOT NULL,
  at BIGINT NOT NULL,
  suite TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (org_id, seq)
);
)SQL",
              R"SQL(
CREATE TRIGGER audit_checkpoints_append_only_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
)SQL",
              R"SQL(
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
FOR EACH ROW EXECUTE FUNCTION custos_audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
FOR EACH STATEMENT EXECUTE FUNCTION custos_audit_append_only();
)SQL"},
    // Retention purge (audit/purge.h): the audit administrator may remove records older than the
    // retention period. The append-only DELETE guard on audit_events lets a row through only
    // while the purge transaction has set its flag (SQLite: a row in audit_purge_allowed;
    // PostgreSQL: the transaction-local setting custos.audit_purge). UPDATE, TRUNCATE and the
    // checkpoints stay refused.
    Migration{10, "audit_purge", R"SQL(
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, id, 'audit:events:purge' FROM roles WHERE org_id = 1 AND code = 'audit_admin';
)SQL",
              R"SQL(
CREATE TABLE audit_purge_allowed (org_id BIGINT NOT NULL);
DROP TRIGGER audit_events_append_only_delete;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_purge_allowed WHERE org_id = OLD.org_id)
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
)SQL",
              R"SQL(
CREATE OR REPLACE FUNCTION custos_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_events'
     AND current_setting('custos.audit_purge', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit records are append-only';
END $$;
)SQL"},
    // Sensitivity classes (SI-1) as data of each organisation, the default four seeded; the
    // security administrator edits them (authz/classification.h).
    Migration{11, "classification_levels", R"SQL(
CREATE TABLE classification_levels (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  level INTEGER NOT NULL CHECK (level >= 0 AND level < 8),
  code TEXT NOT NULL,
  name_zh TEXT NOT NULL,
  name_en TEXT NOT NULL,
  audit_reads INTEGER NOT NULL DEFAULT 0,
  reason_required INTEGER NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (org_id, level)
);
INSERT INTO classification_levels
  (org_id, level, code, name_zh, name_en, audit_reads, reason_required, updated_at) VALUES
  (1, 0, 'public', '公开', 'Public', 0, 0, 0),
  (1, 1, 'internal', '内部', 'Internal', 0, 0, 0),
  (1, 2, 'sensitive', '敏感', 'Sensitive', 1, 0, 0),
  (1, 3, 'confidential', '机密', 'Confidential', 1, 1, 0);
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, id, 'iam:classifications:write' FROM roles WHERE org_id = 1 AND code = 'security_admin';
)SQL"},
    // Explicit, time-boxed grants of one permission on one record (authz/grants.h).
    Migration{12, "access_grants", R"SQL(
CREATE TABLE access_grants (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  permission TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id BIGINT NOT NULL,
  reason TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT 'direct',
  granted_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  revoked_at BIGINT,
  revoked_by BIGINT REFERENCES users(id),
  revoke_reason TEXT
);
CREATE INDEX access_grants_org_user ON access_grants (org_id, user_id, revoked_at);
CREATE INDEX access_grants_org_object ON access_grants (org_id, object_type, object_id);
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, id, 'iam:grants:read' FROM roles WHERE org_id = 1 AND code = 'security_admin'
  UNION ALL
  SELECT 1, id, 'iam:grants:write' FROM roles WHERE org_id = 1 AND code = 'security_admin';
)SQL"},
    // The chain's hash algorithm (sha256 for the intl suite, sm3 for gm) and the head's previous
    // hash, so PostgreSQL appends a record in one statement (audit/audit.cpp). Records are
    // linked as H(0x02 | prev | seq | leaf) from this version on.
    Migration{13, "audit_chain_v2", R"SQL(
ALTER TABLE audit_heads ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_heads ADD COLUMN alg TEXT NOT NULL DEFAULT 'sha256';
)SQL"},
    // The effective configuration of each start (credentials redacted), so a change between
    // starts is an audit record (audit/configuration.h).
    Migration{14, "config_snapshots", R"SQL(
CREATE TABLE config_snapshots (
  id {{ID}},
  digest TEXT NOT NULL,
  snapshot TEXT NOT NULL,
  recorded_by TEXT NOT NULL,
  at BIGINT NOT NULL
);
)SQL"},
    // The approval engine (platform/workflow), the to-do centre's assigned tasks, notifications
    // and the mail outbox (platform/notify). Users get a language for their mail.
    Migration{15, "workflow", R"SQL(
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT 'zh-CN';

CREATE TABLE workflow_definitions (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  process_key TEXT NOT NULL,
  version INTEGER NOT NULL,
  name TEXT NOT NULL,
  form_type TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  graph TEXT NOT NULL,
  allow_self_approval INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  created_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX workflow_definitions_key ON workflow_definitions (org_id, process_key, version);

CREATE TABLE workflow_instances (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  definition_id BIGINT NOT NULL REFERENCES workflow_definitions(id),
  form_type TEXT NOT NULL,
  form TEXT NOT NULL,
  summary TEXT NOT NULL,
  subject_type TEXT,
  subject_id BIGINT,
  subject_owner_id BIGINT,
  initiator_id BIGINT NOT NULL REFERENCES users(id),
  initiator_department_id BIGINT,
  status TEXT NOT NULL CHECK (status IN ('running', 'returned', 'approved', 'rejected',
                                         'withdrawn', 'terminated')),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  completed_at BIGINT,
  version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX workflow_instances_initiator ON workflow_instances (org_id, initiator_id, id);
CREATE INDEX workflow_instances_status ON workflow_instances (org_id, status, id);
CREATE INDEX workflow_instances_subject ON workflow_instances (org_id, subject_type, subject_id);

CREATE TABLE workflow_node_runs (
  org_id BIGINT NOT NULL,
  id {{ID}},
  instance_id BIGINT NOT NULL REFERENCES workflow_instances(id),
  node_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'done', 'cancelled', 'rejected')),
  arrivals INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  done_at BIGINT
);
CREATE INDEX workflow_node_runs_instance ON workflow_node_runs (org_id, instance_id, status);

CREATE TABLE workflow_tasks (
  org_id BIGINT NOT NULL,
  id {{ID}},
  instance_id BIGINT NOT NULL REFERENCES workflow_instances(id),
  node_run_id BIGINT NOT NULL REFERENCES workflow_node_runs(id),
  node_id TEXT NOT NULL,
  assignee_id BIGINT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL CHECK (kind IN ('approval', 'delegate', 'added')),
  status TEXT NOT NULL CHECK (status IN ('pending', 'waiting', 'approved', 'rejected',
    'returned', 'transferred', 'delegated', 'resolved', 'cancelled')),
  position INTEGER NOT NULL DEFAULT 0,
  parent_task_id BIGINT,
  created_at BIGINT NOT NULL,
  due_at BIGINT,
  reminded_at BIGINT,
  acted_at BIGINT,
  comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX workflow_tasks_assignee ON workflow_tasks (org_id, assignee_id, status, id);
CREATE INDEX workflow_tasks_instance ON workflow_tasks (org_id, instance_id, id);
CREATE INDEX workflow_tasks_due ON workflow_tasks (status, due_at);

CREATE TABLE workflow_cc (
  org_id BIGINT NOT NULL,
  instance_id BIGINT NOT NULL REFERENCES workflow_instances(id),
  user_id BIGINT NOT NULL REFERENCES users(id),
  node_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  read_at BIGINT,
  PRIMARY KEY (org_id, instance_id, user_id, node_id)
);
CREATE INDEX workflow_cc_user ON workflow_cc (org_id, user_id, instance_id);

CREATE TABLE workflow_history (
  org_id BIGINT NOT NULL,
  id {{ID}},
  instance_id BIGINT NOT NULL REFERENCES workflow_instances(id),
  task_id BIGINT,
  node_id TEXT NOT NULL DEFAULT '',
  actor_id BIGINT,
  action TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL DEFAULT '{}',
  at BIGINT NOT NULL
);
CREATE INDEX workflow_history_instance ON workflow_history (org_id, instance_id, id);

CREATE TABLE workflow_attachments (
  org_id BIGINT NOT NULL,
  id {{ID}},
  instance_id BIGINT NOT NULL REFERENCES workflow_instances(id),
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  data {{BLOB}} NOT NULL,
  uploaded_by BIGINT REFERENCES users(id),
  at BIGINT NOT NULL
);
CREATE INDEX workflow_attachments_instance ON workflow_attachments (org_id, instance_id);

CREATE TABLE todo_items (
  org_id BIGINT NOT NULL,
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL,
  title_zh TEXT NOT NULL,
  title_en TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  due_at BIGINT,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
  created_at BIGINT NOT NULL,
  done_at BIGINT
);
CREATE INDEX todo_items_user ON todo_items (org_id, user_id, status, id);
CREATE INDEX todo_items_object ON todo_items (org_id, object_type, object_id);

CREATE TABLE notifications (
  org_id BIGINT NOT NULL,
  id {{ID}},
  user_id BIGINT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL,
  title_zh TEXT NOT NULL,
  title_en TEXT NOT NULL,
  body_zh TEXT NOT NULL,
  body_en TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  must_read INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  read_at BIGINT
);
CREATE INDEX notifications_user ON notifications (org_id, user_id, read_at, id);

CREATE TABLE mail_outbox (
  org_id BIGINT NOT NULL,
  id {{ID}},
  to_addr TEXT NOT NULL,
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  sent_at BIGINT,
  last_error TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);

INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, id, 'workflow:definitions:write' FROM roles WHERE org_id = 1 AND code = 'system_admin'
  UNION ALL
  SELECT 1, id, 'workflow:instances:read' FROM roles WHERE org_id = 1 AND code = 'system_admin'
  UNION ALL
  SELECT 1, id, 'workflow:instances:terminate' FROM roles WHERE org_id = 1 AND code = 'system_admin';
)SQL"},
    // A step's tasks are read on every action (modes, 加签): by their node run, not by scanning
    // the organisation's tasks.
    Migration{16, "workflow_tasks_by_run", R"SQL(
CREATE INDEX workflow_tasks_run ON workflow_tasks (org_id, node_run_id, position, id);
)SQL"},
    // The service information registry (modules/registry): data keys of the field cipher,
    // customers (personal fields encrypted, blind indexes), consents, data-subject requests,
    // request types, priorities and SLA targets, service requests with comments and feedback,
    // review and retention policies; the token index of full-text search (FTS5 on SQLite,
    // text[] with GIN on PostgreSQL); two business roles.
    Migration{17, "registry", R"SQL(
CREATE TABLE data_keys (
  id {{ID}},
  wrapped {{BLOB}} NOT NULL,
  kek_id TEXT NOT NULL,
  suite TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
  created_at BIGINT NOT NULL
);

CREATE TABLE customers (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  kind TEXT NOT NULL CHECK (kind IN ('individual', 'organization')),
  name TEXT NOT NULL,
  mobile {{BLOB}},
  mobile_bidx TEXT,
  id_card {{BLOB}},
  id_card_bidx TEXT,
  address {{BLOB}},
  email {{BLOB}},
  email_bidx TEXT,
  tags TEXT NOT NULL DEFAULT '[]',
  department_id BIGINT REFERENCES departments(id),
  owner_user_id BIGINT REFERENCES users(id),
  classification INTEGER NOT NULL,
  source TEXT,
  custom TEXT NOT NULL DEFAULT '{}',
  external_key TEXT,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'anonymised', 'deleted')),
  legal_hold INTEGER NOT NULL DEFAULT 0,
  stale INTEGER NOT NULL DEFAULT 0,
  review_due_at BIGINT,
  reviewed_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX customers_org_dept ON customers (org_id, department_id, id);
CREATE INDEX customers_org_mobile ON customers (org_id, mobile_bidx);
CREATE INDEX customers_org_id_card ON customers (org_id, id_card_bidx);
CREATE INDEX customers_org_email ON customers (org_id, email_bidx);
CREATE INDEX customers_org_review ON customers (org_id, stale, review_due_at);
CREATE UNIQUE INDEX customers_org_external ON customers (org_id, external_key)
  WHERE external_key IS NOT NULL;

CREATE TABLE customer_consents (
  org_id BIGINT NOT NULL,
  id {{ID}},
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  purpose TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  policy_version TEXT NOT NULL DEFAULT '',
  scope TEXT NOT NULL DEFAULT '',
  given_by TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '',
  given_at BIGINT NOT NULL,
  recorded_by BIGINT REFERENCES users(id),
  recorded_at BIGINT NOT NULL,
  withdrawn_at BIGINT,
  withdrawn_by BIGINT REFERENCES users(id),
  withdraw_reason TEXT
);
CREATE INDEX customer_consents_customer ON customer_consents (org_id, customer_id, purpose);

CREATE TABLE data_subject_requests (
  org_id BIGINT NOT NULL,
  id {{ID}},
  customer_id BIGINT NOT NULL REFERENCES customers(id),
  kind TEXT NOT NULL CHECK (kind IN ('access', 'correction', 'deletion')),
  status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'refused')),
  detail TEXT NOT NULL DEFAULT '',
  response TEXT,
  received_at BIGINT NOT NULL,
  due_at BIGINT NOT NULL,
  completed_at BIGINT,
  handled_by BIGINT REFERENCES users(id)
);
CREATE INDEX data_subject_requests_org ON data_subject_requests (org_id, status, id);

CREATE TABLE request_types (
  org_id BIGINT NOT NULL,
  id {{ID}},
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  default_classification INTEGER NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX request_types_code ON request_types (org_id, code);

CREATE TABLE request_priorities (
  org_id BIGINT NOT NULL,
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  rank INTEGER NOT NULL,
  PRIMARY KEY (org_id, code)
);

CREATE TABLE sla_targets (
  org_id BIGINT NOT NULL,
  type_id BIGINT NOT NULL REFERENCES request_types(id),
  priority TEXT NOT NULL,
  response_minutes INTEGER NOT NULL,
  resolve_minutes INTEGER NOT NULL,
  PRIMARY KEY (org_id, type_id, priority)
);

CREATE TABLE service_requests (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  number TEXT NOT NULL,
  customer_id BIGINT REFERENCES customers(id),
  type_id BIGINT NOT NULL REFERENCES request_types(id),
  priority TEXT NOT NULL,
  channel TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL CHECK (status IN ('new', 'assigned', 'in_progress', 'resolved', 'closed')),
  department_id BIGINT REFERENCES departments(id),
  assignee_id BIGINT REFERENCES users(id),
  owner_user_id BIGINT REFERENCES users(id),
  classification INTEGER NOT NULL,
  response_due_at BIGINT,
  resolve_due_at BIGINT,
  responded_at BIGINT,
  resolved_at BIGINT,
  closed_at BIGINT,
  escalated_at BIGINT,
  response_breached INTEGER NOT NULL DEFAULT 0,
  resolve_breached INTEGER NOT NULL DEFAULT 0,
  external_key TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX service_requests_org_dept ON service_requests (org_id, department_id, id);
CREATE INDEX service_requests_org_status ON service_requests (org_id, status, id);
CREATE INDEX service_requests_org_customer ON service_requests (org_id, customer_id);
CREATE INDEX service_requests_org_assignee ON service_requests (org_id, assignee_id, status);
CREATE INDEX service_requests_sla ON service_requests (status, resolve_due_at);
CREATE INDEX service_requests_org_due ON service_requests (org_id, resolve_due_at, id);
CREATE UNIQUE INDEX service_requests_org_external ON service_requests (org_id, external_key)
  WHERE external_key IS NOT NULL;

CREATE TABLE service_request_comments (
  org_id BIGINT NOT NULL,
  id {{ID}},
  request_id BIGINT NOT NULL REFERENCES service_requests(id),
  author_id BIGINT NOT NULL REFERENCES users(id),
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX service_request_comments_request ON service_request_comments (org_id, request_id);

CREATE TABLE feedback (
  org_id BIGINT NOT NULL,
  id {{ID}},
  request_id BIGINT NOT NULL REFERENCES service_requests(id),
  satisfaction INTEGER NOT NULL CHECK (satisfaction BETWEEN 1 AND 5),
  comment TEXT NOT NULL DEFAULT '',
  complaint INTEGER NOT NULL DEFAULT 0,
  created_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL
);
CREATE INDEX feedback_request ON feedback (org_id, request_id);

CREATE TABLE review_policies (
  org_id BIGINT NOT NULL,
  record_type TEXT NOT NULL,
  classification INTEGER NOT NULL,
  interval_days INTEGER NOT NULL,
  PRIMARY KEY (org_id, record_type, classification)
);

CREATE TABLE retention_policies (
  org_id BIGINT NOT NULL,
  record_type TEXT NOT NULL,
  retain_days INTEGER NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('anonymise', 'delete')),
  PRIMARY KEY (org_id, record_type)
);

INSERT INTO request_types (org_id, code, name, default_classification, created_at, updated_at)
VALUES (1, 'repair', '报修', 1, 0, 0), (1, 'complaint', '投诉', 2, 0, 0),
       (1, 'inquiry', '咨询', 1, 0, 0), (1, 'appointment', '预约服务', 1, 0, 0);
INSERT INTO request_priorities (org_id, code, name, rank) VALUES
  (1, 'urgent', '紧急', 1), (1, 'high', '高', 2), (1, 'normal', '普通', 3), (1, 'low', '低', 4);
INSERT INTO sla_targets (org_id, type_id, priority, response_minutes, resolve_minutes)
  SELECT 1, t.id, p.code,
         CASE p.code WHEN 'urgent' THEN 15 WHEN 'high' THEN 60 WHEN 'normal' THEN 240 ELSE 480 END,
         CASE p.code WHEN 'urgent' THEN 240 WHEN 'high' THEN 1440 WHEN 'normal' THEN 4320
              ELSE 10080 END
  FROM request_types t, request_priorities p WHERE t.org_id = 1 AND p.org_id = 1;
INSERT INTO review_policies (org_id, record_type, classification, interval_days) VALUES
  (1, 'customer', 0, 730), (1, 'customer', 1, 365), (1, 'customer', 2, 180),
  (1, 'customer', 3, 90);
INSERT INTO retention_policies (org_id, record_type, retain_days, action) VALUES
  (1, 'service_request', 1095, 'anonymise');

INSERT INTO roles (org_id, code, name, scope, builtin, created_at, updated_at) VALUES
  (1, 'service_desk', '前台客服', 'department_tree', 1, 0, 0),
  (1, 'registry_manager', '服务信息主管', 'all', 1, 0, 0);
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, r.id, x.permission FROM roles r,
    (SELECT 'registry:customers:read' AS permission UNION ALL
     SELECT 'registry:customers:write' UNION ALL
     SELECT 'registry:customers:unmask' UNION ALL
     SELECT 'registry:requests:read' UNION ALL
     SELECT 'registry:requests:write' UNION ALL
     SELECT 'registry:feedback:write') x
  WHERE r.org_id = 1 AND r.code IN ('service_desk', 'registry_manager');
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, r.id, x.permission FROM roles r,
    (SELECT 'registry:customers:export' AS permission UNION ALL
     SELECT 'registry:requests:export' UNION ALL
     SELECT 'registry:records:classify' UNION ALL
     SELECT 'registry:privacy:write') x
  WHERE r.org_id = 1 AND r.code = 'registry_manager';
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, id, 'registry:config:write' FROM roles WHERE org_id = 1 AND code = 'system_admin';
)SQL",
              R"SQL(
CREATE VIRTUAL TABLE customers_fts USING fts5(tokens);
CREATE VIRTUAL TABLE service_requests_fts USING fts5(tokens);
)SQL",
              R"SQL(
ALTER TABLE customers ADD COLUMN search_tokens TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX customers_search ON customers USING GIN (search_tokens);
ALTER TABLE service_requests ADD COLUMN search_tokens TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX service_requests_search ON service_requests USING GIN (search_tokens);
)SQL"},
    // The registers' lists read newest first within an organisation: an index in that order, so
    // a first page reads its rows and no more (without it SQLite sorted a whole register).
    Migration{18, "registry_list_order", R"SQL(
CREATE INDEX customers_org_order ON customers (org_id, id);
CREATE INDEX service_requests_org_order ON service_requests (org_id, id);
)SQL"},
    // IT assets (modules/assets): the equipment archive with its history; the asset manager
    // role (资产管理员).
    Migration{19, "assets", R"SQL(
CREATE TABLE assets (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  asset_tag TEXT NOT NULL,
  category TEXT NOT NULL,
  name TEXT NOT NULL,
  model TEXT NOT NULL DEFAULT '',
  serial TEXT NOT NULL DEFAULT '',
  specs TEXT NOT NULL DEFAULT '',
  supplier TEXT NOT NULL DEFAULT '',
  location TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL CHECK (status IN ('ordered', 'in_stock', 'in_use', 'idle', 'in_repair',
    'in_external_repair', 'pending_disposal', 'scrapped', 'sold')),
  purchase_date TEXT,
  warranty_end TEXT,
  cost_cents BIGINT,
  department_id BIGINT REFERENCES departments(id),
  custodian_id BIGINT REFERENCES users(id),
  repairer_id BIGINT REFERENCES users(id),
  version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX assets_org_tag ON assets (org_id, asset_tag);
CREATE INDEX assets_org_order ON assets (org_id, id);
CREATE INDEX assets_org_status ON assets (org_id, status, id);
CREATE INDEX assets_org_dept ON assets (org_id, department_id, id);
CREATE INDEX assets_org_custodian ON assets (org_id, custodian_id, id);
CREATE INDEX assets_org_serial ON assets (org_id, serial);
CREATE TABLE asset_events (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  asset_id BIGINT NOT NULL REFERENCES assets(id),
  at BIGINT NOT NULL,
  actor_id BIGINT,
  kind TEXT NOT NULL,
  from_value TEXT NOT NULL DEFAULT '',
  to_value TEXT NOT NULL DEFAULT '',
  cost_cents BIGINT,
  note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX asset_events_asset ON asset_events (org_id, asset_id, id);
INSERT INTO roles (org_id, code, name, scope, builtin, created_at, updated_at) VALUES
  (1, 'asset_manager', '资产管理员', 'all', 1, 0, 0);
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, r.id, x.permission FROM roles r,
    (SELECT 'assets:equipment:read' AS permission UNION ALL
     SELECT 'assets:equipment:write') x
  WHERE r.org_id = 1 AND r.code = 'asset_manager';
)SQL"},
    // Inventory from agents, IP address management and the software policy (modules/assets,
    // IT-5, IT-7): per-site agent tokens (hashes only), what the last inventory said about each
    // machine, the review queue of machines no asset matched, subnets and allocations, the
    // prohibited/allowed software rules, approved proxies, and the violations register.
    Migration{20, "inventory_ipam_violations", R"SQL(
CREATE TABLE inventory_agents (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  last_used_at BIGINT,
  inventories BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE asset_machines (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  asset_id BIGINT PRIMARY KEY REFERENCES assets(id),
  device_id TEXT NOT NULL,
  hostname TEXT NOT NULL DEFAULT '',
  uuid TEXT NOT NULL DEFAULT '',
  serial TEXT NOT NULL DEFAULT '',
  manufacturer TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  os TEXT NOT NULL DEFAULT '',
  cpu TEXT NOT NULL DEFAULT '',
  memory_mb BIGINT NOT NULL DEFAULT 0,
  software_count BIGINT NOT NULL DEFAULT 0,
  agent_id BIGINT REFERENCES inventory_agents(id),
  fingerprint TEXT NOT NULL DEFAULT '',
  inventoried_at BIGINT NOT NULL
);
CREATE INDEX asset_machines_device ON asset_machines (org_id, device_id);
CREATE INDEX asset_machines_uuid ON asset_machines (org_id, uuid);
CREATE TABLE asset_addresses (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  asset_id BIGINT NOT NULL REFERENCES assets(id),
  interface TEXT NOT NULL,
  mac TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT ''
);
CREATE INDEX asset_addresses_asset ON asset_addresses (org_id, asset_id);
CREATE INDEX asset_addresses_mac ON asset_addresses (org_id, mac);
CREATE TABLE asset_software (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  asset_id BIGINT NOT NULL REFERENCES assets(id),
  name TEXT NOT NULL,
  publisher TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT ''
);
CREATE INDEX asset_software_asset ON asset_software (org_id, asset_id);
CREATE INDEX asset_software_name ON asset_software (org_id, name);
CREATE TABLE inventory_queue (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  device_id TEXT NOT NULL,
  hostname TEXT NOT NULL DEFAULT '',
  serial TEXT NOT NULL DEFAULT '',
  uuid TEXT NOT NULL DEFAULT '',
  macs TEXT NOT NULL DEFAULT '',
  addresses TEXT NOT NULL DEFAULT '',
  os TEXT NOT NULL DEFAULT '',
  software_count BIGINT NOT NULL DEFAULT 0,
  agent_id BIGINT REFERENCES inventory_agents(id),
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'linked', 'dismissed')),
  asset_id BIGINT REFERENCES assets(id),
  received_at BIGINT NOT NULL,
  resolved_at BIGINT,
  resolved_by BIGINT REFERENCES users(id)
);
CREATE UNIQUE INDEX inventory_queue_device ON inventory_queue (org_id, device_id);
CREATE INDEX inventory_queue_status ON inventory_queue (org_id, status, id);
CREATE TABLE ip_subnets (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  cidr TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  vlan BIGINT,
  gateway TEXT NOT NULL DEFAULT '',
  dhcp_start TEXT NOT NULL DEFAULT '',
  dhcp_end TEXT NOT NULL DEFAULT '',
  department_id BIGINT REFERENCES departments(id),
  note TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ip_subnets_cidr ON ip_subnets (org_id, cidr);
CREATE TABLE ip_allocations (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  subnet_id BIGINT NOT NULL REFERENCES ip_subnets(id),
  address TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('allocation', 'reservation')),
  asset_id BIGINT REFERENCES assets(id),
  note TEXT NOT NULL DEFAULT '',
  created_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ip_allocations_address ON ip_allocations (org_id, address);
CREATE INDEX ip_allocations_asset ON ip_allocations (org_id, asset_id);
CREATE INDEX ip_allocations_subnet ON ip_allocations (org_id, subnet_id, id);
CREATE TABLE approved_proxies (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  address TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX approved_proxies_address ON approved_proxies (org_id, address);
CREATE TABLE software_rules (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  kind TEXT NOT NULL CHECK (kind IN ('prohibit', 'allow')),
  category TEXT NOT NULL,
  name_pattern TEXT NOT NULL,
  publisher_pattern TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  created_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL
);
CREATE INDEX software_rules_org ON software_rules (org_id, id);
CREATE TABLE violations (
  org_id BIGINT NOT NULL REFERENCES organizations(id),
  id {{ID}},
  kind TEXT NOT NULL CHECK (kind IN ('prohibited_software', 'address_mismatch',
    'address_conflict', 'unapproved_proxy', 'acceptable_use', 'other')),
  use_case TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL CHECK (source IN ('inventory', 'manual')),
  asset_id BIGINT REFERENCES assets(id),
  subject TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  user_id BIGINT REFERENCES users(id),
  department_id BIGINT REFERENCES departments(id),
  head_id BIGINT REFERENCES users(id),
  status TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'cleared')),
  reported_by BIGINT REFERENCES users(id),
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  resolved_at BIGINT,
  resolved_by BIGINT REFERENCES users(id),
  resolution TEXT NOT NULL DEFAULT ''
);
CREATE INDEX violations_org ON violations (org_id, id);
CREATE INDEX violations_open ON violations (org_id, asset_id, kind, subject, status);
INSERT INTO role_permissions (org_id, role_id, permission)
  SELECT 1, r.id, x.permission FROM roles r,
    (SELECT 'assets:inventory:read' AS permission UNION ALL
     SELECT 'assets:inventory:write' UNION ALL
     SELECT 'assets:network:read' UNION ALL
     SELECT 'assets:network:write' UNION ALL
     SELECT 'assets:violations:read' UNION ALL
     SELECT 'assets:violations:write') x
  WHERE r.org_id = 1 AND r.code = 'asset_manager';
)SQL"},
    // Assets bought through an approved procurement form (IT-1) name it, so receiving the last
    // of them closes the purchase task.
    Migration{21, "asset_procurement", R"SQL(
ALTER TABLE assets ADD COLUMN procurement_id BIGINT;
CREATE INDEX assets_procurement ON assets (org_id, procurement_id);
)SQL"},
    // SQLite: the audit trail keyed by (org_id, seq) alone, WITHOUT ROWID, so a record is one
    // b-tree entry instead of a row plus its primary-key index: every audited write commits one
    // page fewer (issue #4). The records, indexes and append-only triggers are as before;
    // DROP TABLE's implicit delete fires no trigger. PostgreSQL keeps its heap table.
    Migration{22, "audit_events_without_rowid", "", R"SQL(
CREATE TABLE audit_events_keyed (
  org_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  at BIGINT NOT NULL,
  actor_user_id BIGINT,
  session_id BIGINT,
  ip TEXT,
  request_id TEXT,
  action TEXT NOT NULL,
  object_type TEXT,
  object_id TEXT,
  outcome TEXT NOT NULL,
  error_code TEXT,
  changes TEXT,
  reason TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (org_id, seq)
) WITHOUT ROWID;
INSERT INTO audit_events_keyed (org_id, seq, at, actor_user_id, session_id, ip, request_id,
  action, object_type, object_id, outcome, error_code, changes, reason, prev_hash, hash)
  SELECT org_id, seq, at, actor_user_id, session_id, ip, request_id, action, object_type,
    object_id, outcome, error_code, changes, reason, prev_hash, hash
  FROM audit_events ORDER BY org_id, seq;
DROP TABLE audit_events;
ALTER TABLE audit_events_keyed RENAME TO audit_events;
CREATE INDEX audit_events_org_at ON audit_events (org_id, at);
CREATE INDEX audit_events_org_actor ON audit_events (org_id, actor_user_id, seq);
CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_purge_allowed WHERE org_id = OLD.org_id)
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
)SQL"},
};

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

int current(Tx& tx) {
  Result r = tx.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return static_cast<int>(as_int(r.rows.at(0).at(0)));
}

}  // namespace

std::span<const Migration> all_migrations() {
  return kMigrations;
}

std::string render_sql(Engine engine, std::string_view sql) {
  std::string out(sql);
  if (engine == Engine::sqlite) {
    replace_all(out, "{{ID}}", "INTEGER PRIMARY KEY AUTOINCREMENT");
    replace_all(out, "{{BLOB}}", "BLOB");
  } else {
    replace_all(out, "{{ID}}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    replace_all(out, "{{BLOB}}", "BYTEA");
  }
  replace_all(out, "{{BIGINT}}", "BIGINT");
  return out;
}

MigrateReport migrate(Db& db, int up_to) {
  return db.write([&](Tx& tx) {
    // PostgreSQL: a transaction-scoped advisory lock serialises concurrent migrators; SQLite's
    // write transaction (BEGIN IMMEDIATE) already excludes every other writer.
    if (tx.engine() == Engine::postgres) tx.query("SELECT pg_advisory_xact_lock(7242001)");
    tx.exec_script(kCreateTable);
    MigrateReport report;
    report.from = current(tx);
    report.to = report.from;
    const int newest = kMigrations.back().version;
    if (report.from > newest)
      throw DbError(DbError::Kind::other, "database schema version " + std::to_string(report.from) +
                                              " is newer than this binary supports (" +
                                              std::to_string(newest) + ")");
    for (const Migration& m : kMigrations) {
      if (m.version <= report.from) continue;
      if (up_to > 0 && m.version > up_to) break;
      if (!m.sql.empty()) tx.exec_script(render_sql(tx.engine(), m.sql));
      std::string_view extra = tx.engine() == Engine::sqlite ? m.sqlite_sql : m.postgres_sql;
      if (!extra.empty()) tx.exec_script(render_sql(tx.engine(), extra));
      tx.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
               {int64_t{m.version}, std::string(m.name), now_ms()});
      report.applied.push_back(m.version);
      report.to = m.version;
    }
    return report;
  });
}

int schema_version(Db& db) {
  return db.read([](Tx& tx) {
    Result r = tx.query(
        tx.engine() == Engine::sqlite
            ? "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
            : "SELECT COUNT(*) FROM information_schema.tables WHERE "
              "table_name='schema_migrations'");
    if (as_int(r.rows.at(0).at(0)) == 0) return 0;
    return current(tx);
  });
}

}  // namespace custos::db
