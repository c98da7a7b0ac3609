#pragma once

// The /echo reply of the bundled backends: the request as they received it, as JSON.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lb/http1/head.hpp"

namespace lb::backends {

// RFC 3629 §4: rejects overlong forms, surrogates and code points past U+10FFFF, which is
// also what the JSON writer requires of a string.
bool valid_utf8(std::string_view s);

// RFC 4648 §4 base64 with padding.
std::string base64(std::string_view in);

// The request part of an /echo reply, in this order: server, method, target, version and
// headers as [name, value] pairs in wire order. `base` is the buffer `head` was parsed from.
nlohmann::ordered_json echo_head(std::string_view server, const lb::http1::Head& head,
                                 std::string_view target, const char* base);

// The same for a request that did not come as an HTTP/1.x head (HTTP/2): `version` as it
// should read ("HTTP/2"), `fields` as [name, value] pairs in the order received.
nlohmann::ordered_json echo_request(std::string_view server, std::string_view method,
                                    std::string_view target, std::string_view version,
                                    const std::vector<std::pair<std::string, std::string>>& fields);

// Completes `echo` with body, body_encoding (utf-8 or base64) and body_length, and writes it
// as one JSON line (with a final newline) into `out`. `body` is left as it was.
void finish_echo(nlohmann::ordered_json& echo, std::string& body, std::string& out);

}  // namespace lb::backends
