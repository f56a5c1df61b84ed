// One closed set of error codes for the whole product. Every refusal the API gives, from the
// HTTP parser up to a module's rule, is one of these: a stable machine-readable `code`, an HTTP
// status and a message in zh-CN and English. Adding a code means adding a row to the table in
// error.cpp; nothing else produces an error body.
#pragma once

#include <exception>
#include <span>
#include <string>
#include <string_view>

namespace custos {

enum class ErrorCode {
  bad_request,
  invalid_json,
  invalid_utf8,
  validation_failed,
  unauthorized,
  forbidden,
  not_found,
  route_not_found,
  method_not_allowed,
  conflict,
  precondition_failed,
  payload_too_large,
  header_too_large,
  unsupported_media_type,
  unprocessable,
  too_many_requests,
  internal_error,
  service_unavailable,
  request_timeout,
  invalid_credentials,
  account_locked,
  account_disabled,
  mfa_required,
  mfa_enrollment_required,
  password_change_required,
  reauth_required,
  csrf_failed,
  weak_password,
  separation_of_duties,
  precondition_required,
  no_approver,
  attachment_too_large,
  transition_not_allowed,
  approval_required,
  consent_withdrawn,
  it_department_only,
  invalid_inventory,
  address_conflict,
};

enum class Lang { zh_CN, en };

struct ErrorInfo {
  std::string_view code;  // stable, snake_case
  int status;
  std::string_view title_zh;
  std::string_view title_en;
};

const ErrorInfo& error_info(ErrorCode code);
// All codes, for the OpenAPI document and tests.
std::span<const ErrorCode> all_error_codes();

// The exception a handler or service throws to refuse a request. `detail` is optional extra
// context in English that must never hold secrets or personal data; `field` names the input at
// fault (a JSON pointer-ish path such as "body.name" or "query.limit").
class Error : public std::exception {
 public:
  explicit Error(ErrorCode code, std::string field = {}, std::string detail = {})
      : code_(code), field_(std::move(field)), detail_(std::move(detail)) {}
  ErrorCode code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }
  const std::string& detail() const noexcept { return detail_; }
  // Extension members of the problem (RFC 9457 §3.2), as the text of a JSON object, for a client
  // to act on without reading `detail` (e.g. {"in_use":{"level":3,"used_by":"users.clearance"}}).
  Error& with_members(std::string json_object) {
    members_ = std::move(json_object);
    return *this;
  }
  const std::string& members() const noexcept { return members_; }
  const char* what() const noexcept override;

 private:
  ErrorCode code_;
  std::string field_;
  std::string detail_;
  std::string members_;
};

// RFC 9457 body: {"type","title","status","code","detail","field"?,"request_id"} and the
// members of `members` (a JSON object's text; its keys must not be the standard ones).
std::string problem_json(ErrorCode code, Lang lang, std::string_view field, std::string_view detail,
                         std::string_view request_id, std::string_view members = {});

// Picks zh-CN or English from an Accept-Language header; zh-CN is the default.
Lang lang_from_accept_language(std::string_view header);

}  // namespace custos
