// backend1 / backend2: a tiny HTTP/1.1 server that says who it is (any path) and echoes the
// request back as JSON (/echo), over plain TCP or, with --tls, over TLS. It is the
// quick-start backend, the test backend and the benchmark backend, so the plain path does no
// heap allocation per request.

#include <spdlog/spdlog.h>

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/echo_json.hpp"
#include "common/server_options.hpp"
#include "common/server_skeleton.hpp"
#include "common/tls_options.hpp"
#include "common/tls_server_context.hpp"
#include "lb/http1/head_reader.hpp"
#include "lb/http1/parser.hpp"
#include "lb/net/endpoint.hpp"
#include "lb/net/stream.hpp"
#include "lb/net/watchdog.hpp"
#include "lb/util/buffer.hpp"

#ifndef LB_BACKEND_ID
#define LB_BACKEND_ID "backend"
#endif
#ifndef LB_BACKEND_PORT
#define LB_BACKEND_PORT 9000
#endif
#ifndef LB_VERSION
#define LB_VERSION "0.1.0"
#endif

namespace {

using asio::ip::tcp;
constexpr auto kToken = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadBuffer = 16 * 1024;
constexpr std::size_t kMaxHead = 32 * 1024;
constexpr std::uint64_t kMaxEchoBody = 64ull * 1024 * 1024;
// Pipelined replies are batched into one write; past this size they go out early.
constexpr std::size_t kFlushAt = 64 * 1024;
constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";
// How long a closing connection keeps draining input, so that the peer reads our error reply
// instead of a reset caused by its unread bytes; with TLS this also bounds the close_notify
// exchange.
constexpr auto kLingerTime = std::chrono::seconds(1);
// TCP accepted -> TLS handshake done; a client that sends nothing or stalls is dropped.
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

// A complete response; a reply to HEAD sends only the first head_size bytes.
struct CannedReply {
  std::string bytes;
  std::size_t head_size = 0;

  std::string_view for_method(bool is_head) const {
    return std::string_view(bytes).substr(0, is_head ? head_size : bytes.size());
  }
};

struct Server {
  lb::backends::ServerOptions opt;
  lb::backends::TlsOptions tls_opt;
  std::unique_ptr<asio::ssl::context> tls;  // --tls only; outlives the io_context
  std::shared_ptr<spdlog::logger> log;
  // The hello reply differs only in its connection handling, so all variants are built once.
  CannedReply hello_keep_alive;    // HTTP/1.1 persistent
  CannedReply hello_keep_alive10;  // HTTP/1.0 persistent: needs an explicit keep-alive
  CannedReply hello_close;
};

std::string_view connection_header(bool keep_alive, bool http10) {
  if (!keep_alive) return "Connection: close\r\n";
  return http10 ? "Connection: keep-alive\r\n" : "";
}

void append_head(std::string& out, std::string_view status, const Server& srv,
                 std::string_view type, std::size_t length, std::string_view connection) {
  out.append("HTTP/1.1 ").append(status).append("\r\nServer: ").append(srv.opt.id);
  out.append("\r\nContent-Type: ").append(type).append("\r\nContent-Length: ");
  out.append(std::to_string(length)).append("\r\n").append(connection).append("\r\n");
}

CannedReply make_hello(const Server& srv, bool keep_alive, bool http10) {
  std::string body = "Hello from " + srv.opt.id + "\n";
  CannedReply r;
  append_head(r.bytes, "200 OK", srv, "text/plain", body.size(),
              connection_header(keep_alive, http10));
  r.head_size = r.bytes.size();
  r.bytes += body;
  return r;
}

std::string_view status_line(int status) {
  static constexpr std::string_view kLines[] = {
      "413 Content Too Large", "414 URI Too Long", "431 Request Header Fields Too Large",
      "501 Not Implemented", "505 HTTP Version Not Supported"};
  for (auto line : kLines) {
    if (line.starts_with(std::to_string(status))) return line;
  }
  return "400 Bad Request";
}

// One client connection, plain or TLS (one code path: stream_ hides the difference); lives
// in its coroutine's frame.
class Connection {
 public:
  Connection(const Server& srv, tcp::socket socket)
      : srv_(srv),
        stream_(std::move(socket)),
        watchdog_(stream_.get_executor()),
        buf_(kReadBuffer),
        parser_(lb::http1::MessageKind::request, {8 * 1024, kMaxHead}) {
    std::error_code ec;
    // Also for TLS: the session tickets sent after a TLS 1.3 handshake would otherwise hold
    // the first reply back until the client's delayed ACK.
    stream_.socket().set_option(tcp::no_delay(true), ec);
    out_.reserve(4096);
  }

  asio::awaitable<void> run() {
    // GCC 12.2 miscompiles co_await in the condition of if/while/switch (the frame is
    // corrupted), so every await in this file is stored in a variable first.
    bool more = true;
    if (srv_.tls) more = co_await handshake();
    while (more) {
      more = co_await read_head();
      if (!more) break;
      more = co_await serve_request();
    }
    co_await close();
  }

 private:
  // The server side of the TLS handshake, bounded by kHandshakeTimeout. False when it failed
  // (one log line says why); the connection is then closed without a reply.
  asio::awaitable<bool> handshake() {
    auto& tls = stream_.start_tls(*srv_.tls);
    watchdog_.arm(stream_.socket(), kHandshakeTimeout);
    auto [ec] = co_await tls.async_handshake(asio::ssl::stream_base::server, kToken);
    watchdog_.disarm();
    if (!ec) {
      tls_ready_ = true;
      co_return true;
    }
    io_error_ = ec;
    if (watchdog_.expired()) {
      srv_.log->info("{}: TLS handshake timed out after {} s", peer_text(),
                     std::chrono::seconds(kHandshakeTimeout).count());
    } else if (ec.category() == asio::error::get_ssl_category()) {
      // A protocol failure (plain HTTP sent to this port, no common version or cipher, the
      // client rejected our certificate): worth telling whoever set the client up.
      srv_.log->info("{}: TLS handshake failed: {}", peer_text(), ec.message());
    } else {
      // The client went away (or only probed the port).
      srv_.log->debug("{}: TLS handshake failed: {}", peer_text(), ec.message());
    }
    co_return false;
  }

  // False when the connection is done (peer gone or an error reply queued).
  asio::awaitable<bool> read_head() {
    parser_.start();
    buf_.compact();  // only pipelined leftovers move; head spans are offsets from base()
    std::size_t pos = 0;
    for (;;) {
      auto step = lb::http1::advance_head(parser_, buf_, pos, kMaxHead);
      if (step == lb::http1::HeadProgress::complete) {
        buf_.consume(pos);
        co_return true;
      }
      if (step == lb::http1::HeadProgress::error) co_return reject_parse_error();
      if (step == lb::http1::HeadProgress::too_large) {
        co_return reject(431, "request head is larger than the limit");
      }
      bool got = co_await read_more();
      if (!got) co_return false;
    }
  }

  // Reads the body and queues the reply. False when the connection must close.
  asio::awaitable<bool> serve_request() {
    const lb::http1::Head& h = parser_.head();
    std::string_view target = h.target.in(buf_.base());
    bool echo = target.substr(0, target.find('?')) == "/echo";
    bool is_head = h.method == "HEAD";
    bool http10 = h.is_http10();
    if (echo) {
      if (h.has_content_length && h.content_length > kMaxEchoBody) {
        co_return reject(413, "echo body is larger than 64 MiB");
      }
      // Later reads may overwrite the head's bytes, so what /echo reports is taken now.
      echo_ = lb::backends::echo_head(srv_.opt.id, h, target, buf_.base());
      body_.clear();
    }
    parser_.set_body_output(lb::http1::BodyOutput::raw);
    if (h.expect_continue && h.has_body && !http10 && buf_.empty()) {
      out_.append(k100Continue);
      bool sent = co_await flush();
      if (!sent) co_return false;
    }

    for (;;) {
      auto r = parser_.parse(buf_.base(), buf_.begin_offset(), buf_.begin_offset() + buf_.size());
      buf_.consume(r.consumed);
      if (r.event == lb::http1::Parser::Event::error) co_return reject_parse_error();
      if (echo) {
        for (auto piece : parser_.output()) {
          if (body_.size() + piece.size() > kMaxEchoBody) {
            co_return reject(413, "echo body is larger than 64 MiB");
          }
          body_.append(piece.data(), piece.size());
        }
      }
      parser_.clear_output();
      if (r.event == lb::http1::Parser::Event::message_done) break;
      if (r.event == lb::http1::Parser::Event::body) continue;
      buf_.compact();
      bool got = co_await read_more();
      if (!got) co_return false;
    }

    bool keep_alive = parser_.keep_alive();
    if (echo) {
      bool sent = co_await send_echo(is_head, keep_alive, http10);
      co_return sent ? keep_alive : false;
    }
    const CannedReply& reply = !keep_alive ? srv_.hello_close
                               : http10    ? srv_.hello_keep_alive10
                                           : srv_.hello_keep_alive;
    out_.append(reply.for_method(is_head));
    if (out_.size() >= kFlushAt) {
      bool sent = co_await flush();
      if (!sent) co_return false;
    }
    co_return keep_alive;
  }

  asio::awaitable<bool> send_echo(bool is_head, bool keep_alive, bool http10) {
    lb::backends::finish_echo(echo_, body_, json_);
    append_head(out_, "200 OK", srv_, "application/json", json_.size(),
                connection_header(keep_alive, http10));
    co_return co_await flush(is_head ? std::string_view() : std::string_view(json_));
  }

  bool reject_parse_error() {
    auto e = static_cast<lb::http1::errc>(parser_.error().value());
    return reject(lb::http1::status_for(e), parser_.error_reason());
  }

  // Queues an error reply; the connection closes after it (the input can no longer be
  // trusted to be framed correctly). Always returns false.
  bool reject(int status, std::string_view reason) {
    std::string_view line = status_line(status);
    srv_.log->debug("{}: {} ({})", peer_text(), line, reason);
    std::size_t body = line.size() - 4 + 2 + reason.size() + 1;
    append_head(out_, line, srv_, "text/plain", body, "Connection: close\r\n");
    out_.append(line.substr(4)).append(": ").append(reason).append("\n");
    return false;
  }

  std::string peer_text() {
    std::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    return ec ? "unknown peer" : lb::net::endpoint_text(ep);
  }

  // Replies queued so far go out before blocking on input, so pipelined requests get their
  // answers in one write and a client waiting for them is never stalled.
  asio::awaitable<bool> read_more() {
    if (!out_.empty()) {
      bool sent = co_await flush();
      if (!sent) co_return false;
    }
    auto space = buf_.free_space();
    auto [ec, n] =
        co_await stream_.async_read_some(asio::buffer(space.data(), space.size()), kToken);
    if (ec) io_error_ = ec;
    if (ec || n == 0) co_return false;
    buf_.commit(n);
    co_return true;
  }

  asio::awaitable<bool> flush(std::string_view extra = {}) {
    std::array<asio::const_buffer, 2> bufs{asio::buffer(out_), asio::buffer(extra)};
    auto [ec, n] = co_await asio::async_write(stream_, bufs, kToken);
    out_.clear();
    if (ec) io_error_ = ec;
    co_return !ec;
  }

  asio::awaitable<void> close() {
    std::error_code ec;
    bool replied = false;
    if (!out_.empty()) replied = co_await flush();
    // close_notify (RFC 8446 §6.1) unless the session is already broken: OpenSSL must not
    // shut down after a fatal error, and a reset or a truncated stream is one. The peer's own
    // close_notify arrives as eof.
    bool notify = tls_ready_ && (!io_error_ || io_error_ == asio::error::eof);
    bool linger = notify || replied;
    if (linger) watchdog_.arm(stream_.socket(), kLingerTime);
    if (notify) {
      // Sends ours, then waits for the peer's (or its FIN, or the watchdog).
      auto [sec] = co_await stream_.tls()->async_shutdown(kToken);
      (void)sec;  // nothing is left to do about a failed close
    }
    if (replied && !watchdog_.expired()) {
      auto& socket = stream_.socket();
      socket.shutdown(tcp::socket::shutdown_send, ec);
      for (;;) {
        // Raw bytes, after TLS too: they are only drained, never read as records.
        auto [rec, n] =
            co_await socket.async_read_some(asio::buffer(buf_.base(), buf_.capacity()), kToken);
        if (rec || n == 0) break;
      }
    }
    if (linger) watchdog_.stop();
    stream_.socket().close(ec);
  }

  const Server& srv_;
  lb::net::Stream stream_;
  lb::net::Watchdog watchdog_;  // the handshake and the close; requests are not timed
  bool tls_ready_ = false;      // the TLS handshake succeeded
  std::error_code io_error_;    // the latest read or write failure
  lb::util::Buffer buf_;
  lb::http1::Parser parser_;
  std::string out_;   // replies not yet written, in request order
  std::string body_;  // the /echo request body
  std::string json_;  // the /echo reply body
  nlohmann::ordered_json echo_;
};

asio::awaitable<void> serve_connection(const Server& srv, tcp::socket socket) {
  Connection conn(srv, std::move(socket));
  co_await conn.run();
}

constexpr std::string_view kUsage =
    "usage: {0} [options]\n"
    "A sample HTTP/1.1 backend: any path answers \"Hello from <id>\", /echo answers the\n"
    "request as JSON (server, method, target, version, headers, body).\n"
    "\n";

// Fills srv.opt and srv.tls_opt from the command line.
void parse_args(int argc, char** argv, Server& srv) {
  lb::backends::ServerOptions& opt = srv.opt;
  opt.port = LB_BACKEND_PORT;
  opt.id = LB_BACKEND_ID;
  lb::backends::ArgCursor args(argc, argv);
  try {
    while (args.next()) {
      std::string_view arg = args.flag();
      if (arg == "-h" || arg == "--help") {
        std::string text = fmt::format(kUsage, LB_BACKEND_ID);
        text += lb::backends::server_flags_help(LB_BACKEND_PORT, LB_BACKEND_ID);
        text += lb::backends::tls_flags_help();
        text += "  -h, --help          this text\n";
        text += "  --version           print the version\n";
        std::fputs(text.c_str(), stdout);
        std::exit(0);
      } else if (arg == "--version") {
        std::printf("%s %s\n", LB_BACKEND_ID, LB_VERSION);
        std::exit(0);
      } else if (!lb::backends::parse_server_flag(args, opt) &&
                 !lb::backends::parse_tls_flag(args, srv.tls_opt)) {
        throw lb::backends::UsageError("unknown option '" + std::string(args.raw()) + "'");
      }
    }
    lb::backends::check_tls_options(srv.tls_opt);
  } catch (const lb::backends::UsageError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", LB_BACKEND_ID, e.what());
    std::exit(2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Asio sends with MSG_NOSIGNAL, and OpenSSL reaches the socket only through Asio; this is
  // for anything else that writes to a closed peer.
  std::signal(SIGPIPE, SIG_IGN);
  Server srv;
  parse_args(argc, argv, srv);
  if (srv.tls_opt.enabled) {
    try {
      srv.tls =
          std::make_unique<asio::ssl::context>(lb::backends::make_tls_server_context(srv.tls_opt));
    } catch (const std::exception& e) {
      // Like a usage error: the command line names something that cannot work.
      std::fprintf(stderr, "%s: %s\n", LB_BACKEND_ID, e.what());
      return 2;
    }
  }
  srv.log = lb::backends::make_logger(srv.opt.id, srv.opt.level);
  srv.hello_keep_alive = make_hello(srv, true, false);
  srv.hello_keep_alive10 = make_hello(srv, true, true);
  srv.hello_close = make_hello(srv, false, false);

  asio::io_context io(1);
  return lb::backends::run_server(
      io, srv.opt, *srv.log,
      [&srv](tcp::socket socket) { return serve_connection(srv, std::move(socket)); },
      /*always_announce=*/false, srv.tls ? " (TLS)" : "");
}
