#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lb::util {

// Appends `data` as `hexdump -C` prints it, without the final offset line: per 16 bytes an
// 8-digit hex offset (counting from `offset`), two spaces, the bytes in hex with one more
// space after the eighth, and the bytes as ASCII between bars ('.' for anything not
// printable); a short last line is padded so its bars line up. Each line ends with '\n'.
void append_hex_dump(std::string_view data, std::string& out, std::size_t offset = 0);

}  // namespace lb::util
