#include "h2_stream.hpp"

#include <algorithm>
#include <cstring>

#include "body_pattern.hpp"

namespace lb::fault {

namespace {

// nghttp2_data_source_read_callback: the next piece of the body, at most `length` bytes.
ssize_t read_body(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buf,
                  std::size_t length, std::uint32_t* data_flags, nghttp2_data_source* source,
                  void*) {
  auto& b = static_cast<H2Stream*>(source->ptr)->out;
  if (b.offset == b.total && b.end == BodySource::End::reset) {
    // nghttp2 answers this with RST_STREAM(INTERNAL_ERROR).
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  std::uint64_t available = b.released - b.offset;
  if (b.offset < b.total && available == 0) return NGHTTP2_ERR_DEFERRED;  // drip: not yet
  std::uint64_t n = std::min<std::uint64_t>(length, available);
  if (b.chunk > 0) n = std::min(n, b.chunk - b.offset % b.chunk);
  auto k = static_cast<std::size_t>(n);
  char* out = reinterpret_cast<char*>(buf);
  switch (b.fill) {
    case BodySource::Fill::text:
      std::memcpy(out, b.text.data() + b.offset, k);
      break;
    case BodySource::Fill::pattern:
      fill_body(b.seed, b.offset, {out, k});
      break;
    case BodySource::Fill::stars:
      std::memset(out, '*', k);
      break;
  }
  b.offset += n;
  if (b.stats != nullptr) b.stats->add_sent(n);
  if (b.offset == b.total && b.end != BodySource::End::reset) {
    *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (b.end == BodySource::End::trailers) {
      // RFC 9113 §8.1: the trailers end the stream.
      *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      auto nv = to_nv(b.trailers);
      nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size());
    }
  }
  return static_cast<ssize_t>(k);
}

}  // namespace

nghttp2_data_provider body_provider(H2Stream& stream) {
  nghttp2_data_provider p;
  p.source.ptr = &stream;
  p.read_callback = read_body;
  return p;
}

std::vector<Field> response_fields(int status, std::string_view server, std::uint64_t number,
                                   std::string_view content_type,
                                   std::optional<std::uint64_t> content_length,
                                   const std::vector<Field>& extra) {
  std::vector<Field> f;
  f.reserve(5 + extra.size());
  f.emplace_back(":status", std::to_string(status));
  f.emplace_back("server", std::string(server));
  if (number > 0) f.emplace_back("x-fault-request", std::to_string(number));
  if (!content_type.empty()) f.emplace_back("content-type", std::string(content_type));
  if (content_length) f.emplace_back("content-length", std::to_string(*content_length));
  f.insert(f.end(), extra.begin(), extra.end());
  return f;
}

std::vector<nghttp2_nv> to_nv(const std::vector<Field>& fields) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(fields.size());
  for (const auto& [name, value] : fields) {
    nv.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                  reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                  value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nv;
}

std::string malformed_data_frame(std::int32_t stream_id) {
  auto id = static_cast<std::uint32_t>(stream_id);
  // RFC 9113 §4.1 frame header: length 1, type DATA, flags PADDED; then Pad Length 5, which
  // is more than the 0 bytes left for data and padding.
  const char frame[] = {0,
                        0,
                        1,
                        0x0,
                        0x8,
                        static_cast<char>((id >> 24) & 0x7f),
                        static_cast<char>((id >> 16) & 0xff),
                        static_cast<char>((id >> 8) & 0xff),
                        static_cast<char>(id & 0xff),
                        5};
  return {frame, sizeof frame};
}

}  // namespace lb::fault
