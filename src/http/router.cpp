#include "http/router.h"

#include <stdexcept>

namespace custos::http {

struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> children;
  std::unique_ptr<Node> param;
  std::string param_name;
  std::array<const Route*, 8> by_method{};
};

namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  if (!path.empty() && path[0] == '/') i = 1;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

bool is_param(std::string_view seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

const Route& Router::add(Method method, std::string pattern, Handler handler, RouteDoc doc,
                         Exec exec) {
  if (pattern.empty() || pattern[0] != '/')
    throw std::logic_error("route must start with /: " + pattern);
  Node* node = root_.get();
  for (std::string_view seg : split(pattern)) {
    if (is_param(seg)) {
      std::string name(seg.substr(1, seg.size() - 2));
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = name;
      } else if (node->param_name != name) {
        throw std::logic_error("route parameter name clash at " + pattern);
      }
      node = node->param.get();
    } else {
      auto it = node->children.find(seg);
      if (it == node->children.end())
        it = node->children.emplace(std::string(seg), std::make_unique<Node>()).first;
      node = it->second.get();
    }
  }
  const auto m = static_cast<size_t>(method);
  if (node->by_method[m]) throw std::logic_error("duplicate route " + pattern);
  auto route = std::make_unique<Route>(
      Route{method, std::move(pattern), std::move(handler), std::move(doc), exec, routes_.size()});
  node->by_method[m] = route.get();
  routes_.push_back(std::move(route));
  return *routes_.back();
}

Router::Match Router::match(Method method, std::string_view path) const {
  Match out;
  const Node* node = root_.get();
  for (std::string_view seg : split(path)) {
    auto it = node->children.find(seg);
    if (it != node->children.end()) {
      node = it->second.get();
    } else if (node->param && !seg.empty()) {
      out.params.emplace_back(node->param_name, percent_decode(seg, false));
      node = node->param.get();
    } else {
      return out;
    }
  }
  for (size_t m = 0; m < node->by_method.size(); ++m)
    if (node->by_method[m]) out.allowed.push_back(static_cast<Method>(m));
  out.path_known = !out.allowed.empty();
  const Route* r = node->by_method[static_cast<size_t>(method)];
  if (!r && method == Method::head) r = node->by_method[static_cast<size_t>(Method::get)];
  out.route = r;
  if (!r) out.params.clear();
  return out;
}

}  // namespace custos::http
