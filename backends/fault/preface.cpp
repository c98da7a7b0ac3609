#include "preface.hpp"

namespace lb::fault {

PrefaceMatch match_preface(std::string_view bytes) {
  std::size_t n = bytes.size() < kH2Preface.size() ? bytes.size() : kH2Preface.size();
  if (bytes.substr(0, n) != kH2Preface.substr(0, n)) return PrefaceMatch::other;
  return n == kH2Preface.size() ? PrefaceMatch::h2 : PrefaceMatch::need_more;
}

}  // namespace lb::fault
