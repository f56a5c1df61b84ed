// Who is who, as the approval engine needs it, behind an interface the organisation module
// implements (arrows point down: the engine never includes a module). Every call reads inside
// the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/storage/db.h"

namespace custos::workflow {

class Directory {
 public:
  virtual ~Directory() = default;
  // An active user of the organisation.
  virtual bool active_user(db::Tx& tx, int64_t org, int64_t user) = 0;
  virtual std::optional<int64_t> department_of(db::Tx& tx, int64_t org, int64_t user) = 0;
  virtual bool department_exists(db::Tx& tx, int64_t org, int64_t department) = 0;
  virtual std::optional<int64_t> department_by_code(db::Tx& tx, int64_t org,
                                                    const std::string& code) = 0;
  virtual std::optional<int64_t> department_head(db::Tx& tx, int64_t org, int64_t department) = 0;
  // The head of the first department of that kind ("it": 信息管理部, "finance", …).
  virtual std::optional<int64_t> head_of_kind(db::Tx& tx, int64_t org, const std::string& kind) = 0;
  // Manager, else the head of the department, else the head above (org::OrgService).
  virtual std::optional<int64_t> superior_of(db::Tx& tx, int64_t org, int64_t user) = 0;
  virtual std::vector<int64_t> post_holders(db::Tx& tx, int64_t org, const std::string& post,
                                            std::optional<int64_t> department) = 0;
  virtual std::vector<int64_t> role_holders(db::Tx& tx, int64_t org, const std::string& role) = 0;
  virtual bool role_exists(db::Tx& tx, int64_t org, const std::string& role) = 0;
  virtual bool post_exists(db::Tx& tx, int64_t org, const std::string& post) = 0;
  // Holds a post with approval authority (OA-3).
  virtual bool has_approval_post(db::Tx& tx, int64_t org, int64_t user) = 0;
  // Holds the permission through a role (any scope).
  virtual bool has_permission(db::Tx& tx, int64_t org, int64_t user,
                              const std::string& permission) = 0;
  virtual std::string display_name(db::Tx& tx, int64_t org, int64_t user) = 0;
  virtual std::optional<std::string> email_of(db::Tx& tx, int64_t org, int64_t user) = 0;
};

}  // namespace custos::workflow
