#include "platform/errors/error.h"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>

namespace custos {
namespace {

struct Row {
  ErrorCode code;
  ErrorInfo info;
};

constexpr std::array kErrors = {
    Row{ErrorCode::bad_request, {"bad_request", 400, "请求格式错误", "Malformed request"}},
    Row{ErrorCode::invalid_json,
        {"invalid_json", 400, "请求体不是有效的 JSON", "The body is not valid JSON"}},
    Row{ErrorCode::invalid_utf8,
        {"invalid_utf8", 400, "请求包含无效的 UTF-8 编码", "The request contains invalid UTF-8"}},
    Row{ErrorCode::validation_failed,
        {"validation_failed", 422, "输入未通过校验", "The input failed validation"}},
    Row{ErrorCode::unauthorized, {"unauthorized", 401, "请先登录", "Authentication is required"}},
    Row{ErrorCode::forbidden,
        {"forbidden", 403, "无权执行此操作", "You may not perform this action"}},
    Row{ErrorCode::not_found, {"not_found", 404, "记录不存在", "The record does not exist"}},
    Row{ErrorCode::route_not_found, {"route_not_found", 404, "接口不存在", "No such endpoint"}},
    Row{ErrorCode::method_not_allowed,
        {"method_not_allowed", 405, "该接口不支持此请求方法",
         "The endpoint does not support this method"}},
    Row{ErrorCode::conflict,
        {"conflict", 409, "与现有数据冲突", "The request conflicts with existing data"}},
    Row{ErrorCode::precondition_failed,
        {"precondition_failed", 412, "数据已被他人修改，请刷新后重试",
         "The record has changed; reload and try again"}},
    Row{ErrorCode::payload_too_large,
        {"payload_too_large", 413, "请求体过大", "The request body is too large"}},
    Row{ErrorCode::header_too_large,
        {"header_too_large", 431, "请求头过大", "The request headers are too large"}},
    Row{ErrorCode::unsupported_media_type,
        {"unsupported_media_type", 415, "不支持的内容类型", "Unsupported content type"}},
    Row{ErrorCode::unprocessable,
        {"unprocessable", 422, "请求无法处理", "The request cannot be processed"}},
    Row{ErrorCode::too_many_requests,
        {"too_many_requests", 429, "请求过于频繁，请稍后再试",
         "Too many requests; try again later"}},
    Row{ErrorCode::internal_error,
        {"internal_error", 500, "服务器内部错误", "Internal server error"}},
    Row{ErrorCode::service_unavailable,
        {"service_unavailable", 503, "服务暂不可用", "The service is unavailable"}},
    Row{ErrorCode::request_timeout, {"request_timeout", 408, "请求超时", "The request timed out"}},
    Row{ErrorCode::invalid_credentials,
        {"invalid_credentials", 401, "用户名或密码错误", "Wrong user name or password"}},
    Row{ErrorCode::account_locked,
        {"account_locked", 423, "连续登录失败次数过多，账号已被锁定，请稍后再试",
         "Too many failed logins: the account is locked for a while"}},
    Row{ErrorCode::account_disabled,
        {"account_disabled", 403, "账号已停用", "The account is disabled"}},
    Row{ErrorCode::mfa_required,
        {"mfa_required", 401, "请输入动态验证码",
         "Enter the one-time code from your authenticator"}},
    Row{ErrorCode::mfa_enrollment_required,
        {"mfa_enrollment_required", 403, "请先绑定动态验证码（双因素认证）",
         "Set up two-factor authentication first"}},
    Row{ErrorCode::password_change_required,
        {"password_change_required", 403, "请先修改初始密码", "Change your password first"}},
    Row{ErrorCode::reauth_required,
        {"reauth_required", 401, "此操作需要重新验证密码", "Confirm your password to continue"}},
    Row{ErrorCode::csrf_failed,
        {"csrf_failed", 403, "请求校验失败，请刷新页面后重试",
         "The request's CSRF token is missing or wrong"}},
    Row{ErrorCode::weak_password,
        {"weak_password", 422, "密码不符合安全策略",
         "The password does not meet the password policy"}},
    Row{ErrorCode::separation_of_duties,
        {"separation_of_duties", 409, "违反三权分立：一个账号只能担任一种管理员角色",
         "Separation of duties: one account may hold only one administrator role"}},
    Row{ErrorCode::precondition_required,
        {"precondition_required", 428, "请携带 If-Match 头（对象的 etag）",
         "Send If-Match with the object's etag"}},
    Row{ErrorCode::no_approver,
        {"no_approver", 409, "没有具备审批权限的人员可以审批此环节",
         "Nobody with the required approval authority can approve this step"}},
    Row{ErrorCode::attachment_too_large,
        {"attachment_too_large", 413, "附件过大", "The attachment is too large"}},
    Row{ErrorCode::transition_not_allowed,
        {"transition_not_allowed", 409, "当前状态下不允许此操作",
         "This change is not allowed in the record's current state"}},
    Row{ErrorCode::approval_required,
        {"approval_required", 409, "此操作需要先经审批", "This change needs an approval first"}},
    Row{ErrorCode::consent_withdrawn,
        {"consent_withdrawn", 409, "客户已撤回此用途的同意",
         "The customer withdrew consent for this use"}},
    Row{ErrorCode::it_department_only,
        {"it_department_only", 403, "只有信息管理部可以执行此操作（设备送外维修、分配 IP 地址）",
         "Only the IT department may do this (external repairs, IP address allocation)"}},
    Row{ErrorCode::invalid_inventory,
        {"invalid_inventory", 400, "无法读取此资产清单（格式错误或不是代理程序的清单）",
         "This inventory cannot be read (malformed, or not an agent inventory)"}},
    Row{ErrorCode::address_conflict,
        {"address_conflict", 409, "该 IP 地址或网段与已有的分配冲突",
         "This IP address or subnet conflicts with an existing allocation"}},
};

constexpr std::array<ErrorCode, kErrors.size()> make_codes() {
  std::array<ErrorCode, kErrors.size()> out{};
  for (size_t i = 0; i < kErrors.size(); ++i) out[i] = kErrors[i].code;
  return out;
}
constexpr auto kCodes = make_codes();

}  // namespace

constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < kErrors.size(); ++i)
    if (static_cast<size_t>(kErrors[i].code) != i) return false;
  return true;
}
static_assert(table_in_enum_order(), "kErrors rows must follow the ErrorCode enum order");

const ErrorInfo& error_info(ErrorCode code) {
  return kErrors[static_cast<size_t>(code)].info;
}

std::span<const ErrorCode> all_error_codes() {
  return kCodes;
}

const char* Error::what() const noexcept {
  return error_info(code_).code.data();
}

std::string problem_json(ErrorCode code, Lang lang, std::string_view field, std::string_view detail,
                         std::string_view request_id, std::string_view members) {
  const ErrorInfo& info = error_info(code);
  boost::json::object o;
  if (!members.empty()) {
    boost::system::error_code ec;
    boost::json::value extra = boost::json::parse(members, ec);
    if (!ec && extra.is_object()) o = std::move(extra.as_object());  // the standard keys win below
  }
  o["type"] = std::string("urn:custos:problem:") + std::string(info.code);
  o["title"] = lang == Lang::en ? info.title_en : info.title_zh;
  o["status"] = info.status;
  o["code"] = info.code;
  o["detail"] = detail.empty() ? (lang == Lang::en ? info.title_en : info.title_zh) : detail;
  if (!field.empty()) o["field"] = field;
  o["request_id"] = request_id;
  return boost::json::serialize(o);
}

Lang lang_from_accept_language(std::string_view header) {
  // The first language range wins; q-values are rare from browsers in practice and both our
  // languages appear as plain tags. Anything starting with "en" selects English.
  size_t i = 0;
  while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
  if (header.size() - i >= 2 && std::tolower(static_cast<unsigned char>(header[i])) == 'e' &&
      std::tolower(static_cast<unsigned char>(header[i + 1])) == 'n')
    return Lang::en;
  return Lang::zh_CN;
}

}  // namespace custos
