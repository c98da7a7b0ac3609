#include "lb/pool/h2_connection.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace lb::pool {

namespace {

constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
// Frames gathered into one write: enough to batch many small frames into one syscall,
// small enough that a big DATA burst does not hold back the others for long.
constexpr std::size_t kWriteBatch = 64 * 1024;

std::string seconds_text(std::chrono::steady_clock::duration d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace

void SlotWaiters::remove(net::Event* e) {
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), e), waiting_.end());
}

void SlotWaiters::notify_all() {
  for (net::Event* e : waiting_) e->notify();
}

H2Connection::H2Connection(std::unique_ptr<UpstreamConnection> conn, const H2Settings& settings,
                           spdlog::logger* trace_log, SlotWaiters& waiters)
    : conn_(std::move(conn)),
      settings_(settings),
      tracer_(trace_log == nullptr || !conn_->tap
                  ? nullptr
                  : std::make_unique<http2::FrameTracer>(*trace_log, conn_->tap->peer())),
      session_(tracer_.get(), "u" + std::to_string(conn_->id)),
      waiters_(waiters),
      output_(conn_->stream.get_executor()),
      last_read_(Clock::now()),
      idle_since_(last_read_) {
  session_.set_output_event(&output_);
  if (conn_->tap) conn_->tap->set_label("u" + std::to_string(conn_->id));
}

H2Connection::~H2Connection() { session_.set_output_event(nullptr); }

void H2Connection::start() {
  auto ex = conn_->stream.get_executor();
  asio::co_spawn(ex, read_loop(shared_from_this()), asio::detached);
  asio::co_spawn(ex, write_loop(shared_from_this()), asio::detached);
}

void H2Connection::close(std::string_view why) {
  if (closed_) return;
  closed_ = true;
  session_.connection_lost(why);
  std::error_code ec;
  conn_->stream.socket().close(ec);
  output_.notify();
  waiters_.notify_all();
}

asio::awaitable<void> H2Connection::read_loop(std::shared_ptr<H2Connection> /*self: kept alive*/) {
  util::Buffer& buf = conn_->buffer;
  for (;;) {
    auto [ec, n] =
        co_await conn_->stream.async_read_some(asio::buffer(buf.base(), buf.capacity()), kToken);
    if (closed_) break;
    if (ec || n == 0) {
      close(ec && ec != asio::error::eof ? "connection to the backend failed: " + ec.message()
                                         : std::string("the backend closed the connection"));
      break;
    }
    last_read_ = Clock::now();
    if (conn_->counters != nullptr) metrics::add(conn_->counters->bytes_received, n);
    std::size_t active = session_.active_streams();
    bool usable_before = usable();
    bool ok = session_.receive({reinterpret_cast<const std::uint8_t*>(buf.base()), n});
    if (!ok) {
      close(session_.failure());
      break;
    }
    // A slot freed, the connection became usable or stopped taking streams.
    if (session_.active_streams() < active || usable() != usable_before) waiters_.notify_all();
    output_.notify();  // SETTINGS and PING ACKs, WINDOW_UPDATEs
  }
}

asio::awaitable<void> H2Connection::write_loop(std::shared_ptr<H2Connection> /*self: kept alive*/) {
  Clock::time_point next = Clock::now();
  while (!closed_) {
    out_.clear();
    if (!session_.take_output(out_, kWriteBatch)) {
      close(session_.failure());
      break;
    }
    if (!out_.empty()) {
      auto [ec, n] = co_await asio::async_write(conn_->stream, asio::buffer(out_), kToken);
      if (conn_->counters != nullptr) metrics::add(conn_->counters->bytes_sent, n);
      if (closed_) break;
      if (ec) {
        close("writing to the backend failed: " + ec.message());
        break;
      }
      continue;
    }
    auto now = Clock::now();
    if (session_.active_streams() > 0) idle_since_ = now;
    if (session_.draining() && session_.active_streams() == 0) {
      close(session_.failed() ? session_.failure() : "the connection was shut down");
      break;
    }
    if (now >= next) next = housekeeping(now);
    if (closed_) break;
    co_await output_.wait(next);
  }
}

H2Connection::Clock::time_point H2Connection::housekeeping(Clock::time_point now) {
  if (session_.ping_outstanding() && now - ping_sent_ >= settings_.ping_timeout) {
    close("no PING ACK from the backend within " + seconds_text(settings_.ping_timeout));
    return now;
  }
  if (session_.active_streams() == 0 && now - idle_since_ >= settings_.idle_timeout) {
    session_.shut_down();  // GOAWAY goes out, then the loop closes the connection
    return now;
  }
  if (!session_.ping_outstanding() && now - last_read_ >= settings_.ping_interval) {
    session_.ping();
    ping_sent_ = now;
  }
  auto tick = std::min({settings_.ping_interval, settings_.idle_timeout, settings_.ping_timeout});
  return now + std::max<Clock::duration>(tick / 4, std::chrono::milliseconds(50));
}

}  // namespace lb::pool
