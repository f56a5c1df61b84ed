#include "http/parse.h"

#include <boost/asio/buffer.hpp>

#include "http/beast_request.h"

namespace custos::http {

namespace bhttp = boost::beast::http;

ParseResult parse_request(std::string_view bytes, const ParseLimits& limits) {
  ParseResult out;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(limits.header_limit_bytes);
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == bhttp::error::need_more) break;
    if (ec) break;
    if (n == 0) break;
    used += n;
  }
  if (ec && ec != bhttp::error::need_more) {
    out.error = ec == bhttp::error::header_limit ? ErrorCode::header_too_large
                : ec == bhttp::error::body_limit ? ErrorCode::payload_too_large
                                                 : ErrorCode::bad_request;
    return out;
  }
  if (!parser.is_done()) {
    out.error = ErrorCode::bad_request;  // incomplete
    return out;
  }
  Request req;
  detail::copy_head(parser.get(), req);
  req.body = std::move(parser.get().body());
  out.request = std::move(req);
  return out;
}

}  // namespace custos::http
