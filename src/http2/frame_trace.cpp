#include "lb/http2/frame_trace.hpp"

#include <span>

namespace lb::http2 {

namespace {

const char* type_name(std::uint8_t type) {
  switch (type) {
    case NGHTTP2_DATA:
      return "DATA";
    case NGHTTP2_HEADERS:
      return "HEADERS";
    case NGHTTP2_PRIORITY:
      return "PRIORITY";
    case NGHTTP2_RST_STREAM:
      return "RST_STREAM";
    case NGHTTP2_SETTINGS:
      return "SETTINGS";
    case NGHTTP2_PUSH_PROMISE:
      return "PUSH_PROMISE";
    case NGHTTP2_PING:
      return "PING";
    case NGHTTP2_GOAWAY:
      return "GOAWAY";
    case NGHTTP2_WINDOW_UPDATE:
      return "WINDOW_UPDATE";
    case NGHTTP2_CONTINUATION:
      return "CONTINUATION";
    default:
      return nullptr;
  }
}

const char* settings_name(std::int32_t id) {
  switch (id) {
    case NGHTTP2_SETTINGS_HEADER_TABLE_SIZE:
      return "HEADER_TABLE_SIZE";
    case NGHTTP2_SETTINGS_ENABLE_PUSH:
      return "ENABLE_PUSH";
    case NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS:
      return "MAX_CONCURRENT_STREAMS";
    case NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE:
      return "INITIAL_WINDOW_SIZE";
    case NGHTTP2_SETTINGS_MAX_FRAME_SIZE:
      return "MAX_FRAME_SIZE";
    case NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE:
      return "MAX_HEADER_LIST_SIZE";
    case NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL:
      return "ENABLE_CONNECT_PROTOCOL";
    default:
      return nullptr;
  }
}

// The flags that mean something for this frame type, by name.
void append_flags(const nghttp2_frame_hd& hd, std::string& out) {
  struct Flag {
    std::uint8_t bit;
    const char* name;
  };
  static constexpr Flag kStream[] = {{NGHTTP2_FLAG_END_STREAM, "END_STREAM"},
                                     {NGHTTP2_FLAG_END_HEADERS, "END_HEADERS"},
                                     {NGHTTP2_FLAG_PADDED, "PADDED"},
                                     {NGHTTP2_FLAG_PRIORITY, "PRIORITY"}};
  static constexpr Flag kAck[] = {{NGHTTP2_FLAG_ACK, "ACK"}};
  std::span<const Flag> known = hd.type == NGHTTP2_SETTINGS || hd.type == NGHTTP2_PING
                                    ? std::span<const Flag>(kAck)
                                    : std::span<const Flag>(kStream);
  out.append(" flags=");
  std::uint8_t rest = hd.flags;
  bool any = false;
  for (const auto& f : known) {
    if ((rest & f.bit) == 0) continue;
    // END_STREAM and ACK share a bit; HEADERS-only flags are meaningless on DATA.
    if (hd.type == NGHTTP2_DATA && f.bit != NGHTTP2_FLAG_END_STREAM &&
        f.bit != NGHTTP2_FLAG_PADDED) {
      continue;
    }
    if (any) out.push_back('|');
    out.append(f.name);
    rest &= static_cast<std::uint8_t>(~f.bit);
    any = true;
  }
  if (rest != 0) {
    if (any) out.push_back('|');
    out.append("UNKNOWN(").append(std::to_string(rest)).append(")");
    any = true;
  }
  if (!any) out.push_back('-');
}

void append_error(std::uint32_t code, std::string& out) {
  out.append(" error=").append(nghttp2_http2_strerror(code));
  if (std::string_view(nghttp2_http2_strerror(code)) == "unknown") {
    out.append("(").append(std::to_string(code)).append(")");
  }
}

void append_details(const nghttp2_frame& f, std::string& out) {
  switch (f.hd.type) {
    case NGHTTP2_SETTINGS:
      for (std::size_t i = 0; i < f.settings.niv; ++i) {
        const char* name = settings_name(f.settings.iv[i].settings_id);
        out.push_back(' ');
        if (name != nullptr) {
          out.append(name);
        } else {
          out.append("SETTING_").append(std::to_string(f.settings.iv[i].settings_id));
        }
        out.append("=").append(std::to_string(f.settings.iv[i].value));
      }
      break;
    case NGHTTP2_WINDOW_UPDATE:
      out.append(" increment=").append(std::to_string(f.window_update.window_size_increment));
      break;
    case NGHTTP2_RST_STREAM:
      append_error(f.rst_stream.error_code, out);
      break;
    case NGHTTP2_GOAWAY:
      out.append(" last_stream=").append(std::to_string(f.goaway.last_stream_id));
      append_error(f.goaway.error_code, out);
      if (f.goaway.opaque_data_len > 0) {
        out.append(" debug=\"");
        for (std::size_t i = 0; i < f.goaway.opaque_data_len && i < 256; ++i) {
          char c = static_cast<char>(f.goaway.opaque_data[i]);
          out.push_back(c >= 0x20 && c < 0x7f && c != '"' ? c : '.');
        }
        out.push_back('"');
      }
      break;
    case NGHTTP2_PING: {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append(" data=");
      for (std::uint8_t b : f.ping.opaque_data) {
        out.push_back(kHex[b >> 4]);
        out.push_back(kHex[b & 0xf]);
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace

void append_frame_text(std::string_view label, std::string_view from, std::string_view to,
                       const nghttp2_frame& frame, const HeaderList& headers, std::string& out) {
  const auto& hd = frame.hd;
  out.append(label).append(" h2 ").append(from).append("->").append(to).append(" ");
  if (const char* name = type_name(hd.type)) {
    out.append(name);
  } else {
    out.append("UNKNOWN(").append(std::to_string(hd.type)).append(")");
  }
  out.append(" stream=").append(std::to_string(hd.stream_id));
  out.append(" length=").append(std::to_string(hd.length));
  append_flags(hd, out);
  append_details(frame, out);
  for (const auto& [name, value] : headers) {
    out.append("\n  ").append(name).append(": ").append(value);
  }
}

void FrameTracer::frame(trace::Direction d, const nghttp2_frame& frame, std::string_view label) {
  HeaderList& headers = d == trace::Direction::received ? received_ : sent_;
  if (frame.hd.type != NGHTTP2_HEADERS && frame.hd.type != NGHTTP2_PUSH_PROMISE) headers.clear();
  if (d == trace::Direction::sent && (frame.hd.type == NGHTTP2_HEADERS)) {
    for (std::size_t i = 0; i < frame.headers.nvlen; ++i) {
      const auto& nv = frame.headers.nva[i];
      headers.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                           std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
    }
  }
  block_.clear();
  if (d == trace::Direction::received) {
    append_frame_text(label, peer_, "lb", frame, headers, block_);
  } else {
    append_frame_text(label, "lb", peer_, frame, headers, block_);
  }
  headers.clear();
  log_.info("{}", block_);
}

}  // namespace lb::http2
