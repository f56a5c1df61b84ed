#include "platform/xml/sax.h"

#include <expat.h>

#include <limits>
#include <new>

namespace custos::xml {

namespace {

constexpr char kNsSeparator = '|';

std::string_view local_name(const XML_Char* name) {
  std::string_view n(name);
  const std::size_t bar = n.rfind(kNsSeparator);
  return bar == std::string_view::npos ? n : n.substr(bar + 1);
}

}  // namespace

struct Parser::Impl {
  Handler& handler;
  Options options;
  XML_Parser parser = nullptr;
  std::exception_ptr error;
  int depth = 0;

  template <typename F>
  static void guarded(void* p, F&& f) {
    auto* self = static_cast<Impl*>(p);
    if (self->error) return;
    try {
      f(*self);
    } catch (...) {
      self->error = std::current_exception();
      XML_StopParser(self->parser, XML_FALSE);
    }
  }

  static void XMLCALL on_start(void* p, const XML_Char* name, const XML_Char** attrs) {
    guarded(p, [&](Impl& self) {
      if (++self.depth > self.options.max_depth)
        throw Failure(
            Failure::Kind::too_deep,
            "XML nested deeper than " + std::to_string(self.options.max_depth) + " levels");
      self.handler.start(local_name(name), attrs);
    });
  }
  static void XMLCALL on_end(void* p, const XML_Char* name) {
    guarded(p, [&](Impl& self) {
      --self.depth;
      self.handler.end(local_name(name));
    });
  }
  static void XMLCALL on_text(void* p, const XML_Char* s, int len) {
    guarded(p, [&](Impl& self) {
      self.handler.text(std::string_view(s, static_cast<std::size_t>(len)));
    });
  }
  static void XMLCALL on_doctype(void* p, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    guarded(p, [](Impl&) {
      throw Failure(Failure::Kind::refused, "XML with a DOCTYPE is refused (entities, XXE)");
    });
  }
  static void XMLCALL on_entity(void* p, const XML_Char*, int, const XML_Char*, int,
                                const XML_Char*, const XML_Char*, const XML_Char*,
                                const XML_Char*) {
    guarded(p, [](Impl&) {
      throw Failure(Failure::Kind::refused, "XML entity declarations are refused");
    });
  }
};

Parser::Parser(Handler& handler, Options options) : impl_(new Impl{handler, options}) {
  impl_->parser =
      options.namespaces ? XML_ParserCreateNS(nullptr, kNsSeparator) : XML_ParserCreate(nullptr);
  if (impl_->parser == nullptr) {
    delete impl_;
    throw std::bad_alloc();
  }
  XML_SetUserData(impl_->parser, impl_);
  XML_SetElementHandler(impl_->parser, Impl::on_start, Impl::on_end);
  XML_SetCharacterDataHandler(impl_->parser, Impl::on_text);
  XML_SetStartDoctypeDeclHandler(impl_->parser, Impl::on_doctype);
  XML_SetEntityDeclHandler(impl_->parser, Impl::on_entity);
  XML_SetParamEntityParsing(impl_->parser, XML_PARAM_ENTITY_PARSING_NEVER);
}

Parser::~Parser() {
  XML_ParserFree(impl_->parser);
  delete impl_;
}

void Parser::feed(const char* data, std::size_t n, bool final) {
  // expat takes an int length: hand over large pieces in slices.
  constexpr std::size_t kSlice = std::numeric_limits<int>::max() / 2;
  do {
    const std::size_t take = n < kSlice ? n : kSlice;
    const bool last = final && take == n;
    if (XML_Parse(impl_->parser, data, static_cast<int>(take), last ? XML_TRUE : XML_FALSE) !=
        XML_STATUS_OK) {
      if (impl_->error) std::rethrow_exception(impl_->error);
      throw Failure(Failure::Kind::malformed,
                    "XML error at line " + std::to_string(XML_GetCurrentLineNumber(impl_->parser)) +
                        ": " + XML_ErrorString(XML_GetErrorCode(impl_->parser)));
    }
    data += take;
    n -= take;
  } while (n > 0);
}

const char* attribute(const char** attrs, std::string_view name) {
  for (std::size_t i = 0; attrs[i] != nullptr; i += 2)
    if (local_name(attrs[i]) == name) return attrs[i + 1];
  return nullptr;
}

}  // namespace custos::xml
