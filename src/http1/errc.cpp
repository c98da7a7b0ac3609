#include "lb/http1/errc.hpp"

#include <string>

namespace lb::http1 {

namespace {
class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "http1"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::bad_request:
        return "bad request";
      case errc::uri_too_long:
        return "request target too long";
      case errc::headers_too_large:
        return "request head too large";
      case errc::not_implemented:
        return "not implemented";
      case errc::version_not_supported:
        return "HTTP version not supported";
      case errc::bad_response:
        return "invalid HTTP response from backend";
      case errc::response_too_large:
        return "response head from backend too large";
    }
    return "unknown http1 error";
  }
};
}  // namespace

const std::error_category& category() {
  static const Category instance;
  return instance;
}

int status_for(errc e) {
  switch (e) {
    case errc::uri_too_long:
      return 414;
    case errc::headers_too_large:
      return 431;
    case errc::not_implemented:
      return 501;
    case errc::version_not_supported:
      return 505;
    default:
      return 400;
  }
}

}  // namespace lb::http1
