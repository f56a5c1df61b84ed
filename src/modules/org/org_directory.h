// The organisation as the approval engine sees it (platform/workflow/directory.h): departments,
// heads, superiors, posts and roles, read inside the engine's transaction.
#pragma once

#include "platform/workflow/directory.h"

namespace custos::org {

class OrgDirectory final : public workflow::Directory {
 public:
  bool active_user(db::Tx& tx, int64_t org, int64_t user) override;
  std::optional<int64_t> department_of(db::Tx& tx, int64_t org, int64_t user) override;
  bool department_exists(db::Tx& tx, int64_t org, int64_t department) override;
  std::optional<int64_t> department_by_code(db::Tx& tx, int64_t org,
                                            const std::string& code) override;
  std::optional<int64_t> department_head(db::Tx& tx, int64_t org, int64_t department) override;
  std::optional<int64_t> head_of_kind(db::Tx& tx, int64_t org, const std::string& kind) override;
  std::optional<int64_t> superior_of(db::Tx& tx, int64_t org, int64_t user) override;
  std::vector<int64_t> post_holders(db::Tx& tx, int64_t org, const std::string& post,
                                    std::optional<int64_t> department) override;
  std::vector<int64_t> role_holders(db::Tx& tx, int64_t org, const std::string& role) override;
  bool role_exists(db::Tx& tx, int64_t org, const std::string& role) override;
  bool post_exists(db::Tx& tx, int64_t org, const std::string& post) override;
  bool has_approval_post(db::Tx& tx, int64_t org, int64_t user) override;
  bool has_permission(db::Tx& tx, int64_t org, int64_t user,
                      const std::string& permission) override;
  std::string display_name(db::Tx& tx, int64_t org, int64_t user) override;
  std::optional<std::string> email_of(db::Tx& tx, int64_t org, int64_t user) override;
};

}  // namespace custos::org
