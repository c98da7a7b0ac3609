#include "lb/http2/client_stream.hpp"

#include "lb/http2/client_session.hpp"

namespace lb::http2 {

ClientStream::~ClientStream() {
  if (session_ != nullptr) session_->cancel(*this);
}

void ClientStream::reset_for_reuse() {
  if (session_ != nullptr) session_->cancel(*this);
  id_ = 0;
  state_ = State::idle;
  reset_code_ = 0;
  refused_by_goaway_ = false;
  failure_.clear();
  status_ = 0;
  in_trailers_ = false;
  text_.clear();
  fields_.clear();
  trailers_.clear();
  has_content_length_ = false;
  content_length_ = 0;
  body_.clear();
  taken_ = 0;
  body_total_ = 0;
  send_buf_.clear();
  send_pos_ = 0;
  has_body_ = false;
  body_ended_ = false;
  send_trailers_.clear();
}

bool ClientStream::refused() const {
  if (head_received()) return false;
  if (refused_by_goaway_) return true;
  return state_ == State::reset && reset_code_ == NGHTTP2_REFUSED_STREAM;
}

void ClientStream::take_body(std::string& out) {
  out.clear();
  out.swap(body_);
  taken_ += out.size();
}

void ClientStream::consume() {
  if (taken_ == 0) return;
  if (session_ != nullptr) session_->consume(id_, taken_);
  taken_ = 0;
}

void ClientStream::send_body(std::string_view bytes) {
  if (bytes.empty()) return;
  // The buffer empties only when the backend's window lets everything out; without this a
  // steady upload would keep every byte already sent.
  if (send_pos_ > 0 && send_pos_ >= unsent()) {
    send_buf_.erase(0, send_pos_);
    send_pos_ = 0;
  }
  send_buf_.append(bytes);
  if (session_ != nullptr) session_->resume(id_);
}

void ClientStream::end_body(std::vector<std::pair<std::string, std::string>> trailers) {
  body_ended_ = true;
  send_trailers_ = std::move(trailers);
  if (session_ != nullptr) session_->resume(id_);
}

void ClientStream::cancel() {
  if (session_ != nullptr) session_->cancel(*this);
}

void ClientStream::add_field(std::string_view name, std::string_view value) {
  auto off = static_cast<std::uint32_t>(text_.size());
  text_.append(name).append(value);
  fields_.push_back({off, static_cast<std::uint32_t>(name.size()),
                     off + static_cast<std::uint32_t>(name.size()),
                     static_cast<std::uint32_t>(value.size())});
}

}  // namespace lb::http2
