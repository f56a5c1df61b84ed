// A guarded SAX reader over expat for documents from outside (XLSX parts, agent inventories):
// no DOCTYPE, so no entity expansion and no external entities (XXE, "billion laughs"); a depth
// limit; exceptions thrown by the handler stop the parse and come out of feed() unchanged.
#pragma once

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

namespace custos::xml {

class Handler {
 public:
  virtual ~Handler() = default;
  // name: the element's local name (namespace prefixes resolved away when Options::namespaces).
  // attrs: expat's null-terminated name/value array.
  virtual void start(std::string_view name, const char** attrs) = 0;
  virtual void end(std::string_view name) = 0;
  virtual void text(std::string_view /*s*/) {}
};

struct Options {
  int max_depth = 64;
  bool namespaces = false;
};

// What went wrong with the document itself.
class Failure : public std::runtime_error {
 public:
  enum class Kind { malformed, too_deep, refused };
  Failure(Kind kind, const std::string& message) : std::runtime_error(message), kind(kind) {}
  Kind kind;
};

class Parser {
 public:
  Parser(Handler& handler, Options options);
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Feeds the next piece of the document; final = true with the last one (which may be empty).
  // Throws Failure, or whatever the handler threw.
  void feed(const char* data, std::size_t n, bool final);
  void feed(std::string_view s, bool final) { feed(s.data(), s.size(), final); }

 private:
  struct Impl;
  Impl* impl_;
};

// The value of an attribute by local name; nullptr when absent.
const char* attribute(const char** attrs, std::string_view name);

}  // namespace custos::xml
