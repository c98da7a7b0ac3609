#include "lb/util/hex_dump.hpp"

namespace lb::util {

namespace {
constexpr char kHex[] = "0123456789abcdef";
constexpr std::size_t kPerLine = 16;
}  // namespace

void append_hex_dump(std::string_view data, std::string& out, std::size_t offset) {
  out.reserve(out.size() + (data.size() / kPerLine + 1) * 78);
  for (std::size_t line = 0; line < data.size(); line += kPerLine) {
    std::size_t at = offset + line;
    for (int shift = 28; shift >= 0; shift -= 4) out += kHex[(at >> shift) & 0xf];
    out += "  ";
    std::string_view bytes = data.substr(line, kPerLine);
    for (std::size_t i = 0; i < kPerLine; ++i) {
      if (i < bytes.size()) {
        auto b = static_cast<unsigned char>(bytes[i]);
        out += kHex[b >> 4];
        out += kHex[b & 0xf];
        out += ' ';
      } else {
        out += "   ";
      }
      if (i == 7) out += ' ';
    }
    out += " |";
    for (char c : bytes) out += (c >= 0x20 && c < 0x7f) ? c : '.';
    out += "|\n";
  }
}

}  // namespace lb::util
