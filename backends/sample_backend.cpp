// backend1 / backend2: a tiny HTTP/1.1 server that says who it is (any path) and echoes the
// request back as JSON (/echo). It is the quick-start backend, the test backend and the
// benchmark backend, so the plain path does no heap allocation per request.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "lb/http1/parser.hpp"
#include "lb/net/endpoint.hpp"
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
// instead of a reset caused by its unread bytes.
constexpr auto kLingerTime = std::chrono::seconds(1);

struct Options {
  std::string listen = "127.0.0.1";
  std::uint16_t port = LB_BACKEND_PORT;
  std::string id = LB_BACKEND_ID;
  spdlog::level::level_enum level = spdlog::level::info;
};

// A complete response; a reply to HEAD sends only the first head_size bytes.
struct CannedReply {
  std::string bytes;
  std::size_t head_size = 0;

  std::string_view for_method(bool is_head) const {
    return std::string_view(bytes).substr(0, is_head ? head_size : bytes.size());
  }
};

struct Server {
  Options opt;
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

// RFC 3629 §4: rejects overlong forms, surrogates and code points past U+10FFFF, which is
// also what the JSON writer requires of a string.
bool valid_utf8(std::string_view s) {
  auto u = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = u(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i - 1 < n) return false;
    if (u(i + 1) < lo || u(i + 1) > hi) return false;
    for (std::size_t k = 2; k <= n; ++k) {
      if ((u(i + k) & 0xC0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(in[i]); };
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    unsigned v = b(i) << 16 | (rest == 2 ? b(i + 1) << 8 : 0);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
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

// One client connection; lives in its coroutine's frame.
class Connection {
 public:
  Connection(const Server& srv, tcp::socket socket)
      : srv_(srv),
        socket_(std::move(socket)),
        buf_(kReadBuffer),
        parser_(lb::http1::MessageKind::request, {8 * 1024, kMaxHead}) {
    std::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    out_.reserve(4096);
  }

  asio::awaitable<void> run() {
    // GCC 12.2 miscompiles co_await in the condition of if/while/switch (the frame is
    // corrupted), so every await in this file is stored in a variable first.
    for (;;) {
      bool more = co_await read_head();
      if (!more) break;
      more = co_await serve_request();
      if (!more) break;
    }
    co_await close();
  }

 private:
  // False when the connection is done (peer gone or an error reply queued).
  asio::awaitable<bool> read_head() {
    parser_.start();
    buf_.compact();  // only pipelined leftovers move; head spans are offsets from base()
    std::size_t pos = 0;
    for (;;) {
      if (pos < buf_.size()) {
        auto r = parser_.parse(buf_.base(), pos, buf_.size());
        pos += r.consumed;
        if (r.event == lb::http1::Parser::Event::head) {
          buf_.consume(pos);
          co_return true;
        }
        if (r.event == lb::http1::Parser::Event::error) co_return reject_parse_error();
      }
      if (buf_.free_space().empty()) {
        if (buf_.capacity() >= kMaxHead) {
          co_return reject(431, "request head is larger than the limit");
        }
        buf_.grow(std::min(buf_.capacity() * 2, kMaxHead));
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
      echo_ = nlohmann::ordered_json::object();
      echo_["server"] = srv_.opt.id;
      echo_["method"] = h.method;
      echo_["target"] = target;
      echo_["version"] = http10 ? "HTTP/1.0" : "HTTP/1.1";
      auto& fields = echo_["headers"] = nlohmann::ordered_json::array();
      for (const auto& f : h.fields) {
        fields.push_back({f.name.in(buf_.base()), f.value.in(buf_.base())});
      }
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
    bool utf8 = valid_utf8(body_);
    std::size_t length = body_.size();
    echo_["body"] = utf8 ? std::move(body_) : base64(body_);
    echo_["body_encoding"] = utf8 ? "utf-8" : "base64";
    echo_["body_length"] = length;
    // Header bytes need not be UTF-8 (obs-text); the writer must not throw on them.
    json_ = echo_.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    json_ += '\n';
    if (utf8) body_ = std::move(echo_["body"].get_ref<std::string&>());
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

  std::string peer_text() const {
    std::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
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
        co_await socket_.async_read_some(asio::buffer(space.data(), space.size()), kToken);
    if (ec || n == 0) co_return false;
    buf_.commit(n);
    co_return true;
  }

  asio::awaitable<bool> flush(std::string_view extra = {}) {
    std::array<asio::const_buffer, 2> bufs{asio::buffer(out_), asio::buffer(extra)};
    auto [ec, n] = co_await asio::async_write(socket_, bufs, kToken);
    out_.clear();
    co_return !ec;
  }

  asio::awaitable<void> close() {
    std::error_code ec;
    bool replied = false;
    if (!out_.empty()) replied = co_await flush();
    if (replied) {
      socket_.shutdown(tcp::socket::shutdown_send, ec);
      asio::steady_timer timer(socket_.get_executor(), kLingerTime);
      timer.async_wait([this](std::error_code tec) {
        std::error_code ignored;
        if (!tec) socket_.cancel(ignored);
      });
      for (;;) {
        auto [rec, n] =
            co_await socket_.async_read_some(asio::buffer(buf_.base(), buf_.capacity()), kToken);
        if (rec || n == 0) break;
      }
      timer.cancel();
    }
    socket_.close(ec);
  }

  const Server& srv_;
  tcp::socket socket_;
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

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, const Server& srv) {
  asio::steady_timer backoff(acceptor.get_executor());
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kToken);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Typically out of file descriptors: retrying at once would spin.
      srv.log->warn("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(kToken);
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve_connection(srv, std::move(socket)),
                   asio::detached);
  }
}

constexpr std::string_view kUsage =
    "usage: {0} [options]\n"
    "A sample HTTP/1.1 backend: any path answers \"Hello from <id>\", /echo answers the\n"
    "request as JSON (server, method, target, version, headers, body).\n"
    "\n"
    "  --port N            port to listen on (default {1}; 0 = any free port)\n"
    "  --listen ADDR       address to listen on (default 127.0.0.1; IPv6 allowed)\n"
    "  --id NAME           name sent in the Server header and bodies (default {0})\n"
    "  -l, --loglevel LVL  err|warn|info|debug (default info)\n"
    "  -h, --help          this text\n"
    "  --version           print the version\n";

[[noreturn]] void usage_error(const std::string& what) {
  std::fprintf(stderr, "%s: %s (see --help)\n", LB_BACKEND_ID, what.c_str());
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    auto take = [&]() -> std::string_view {
      if (inline_value) return value;
      if (i + 1 >= argc) usage_error(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(fmt::format(kUsage, LB_BACKEND_ID, LB_BACKEND_PORT).c_str(), stdout);
      std::exit(0);
    } else if (arg == "--version") {
      std::printf("%s %s\n", LB_BACKEND_ID, LB_VERSION);
      std::exit(0);
    } else if (arg == "--port") {
      std::string_view v = take();
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), opt.port);
      if (ec != std::errc() || end != v.data() + v.size() || v.empty()) {
        usage_error("--port: expected 0-65535, got '" + std::string(v) + "'");
      }
    } else if (arg == "--listen") {
      std::string v(take());
      if (v.size() > 2 && v.front() == '[' && v.back() == ']') v = v.substr(1, v.size() - 2);
      if (v == "localhost") v = "127.0.0.1";
      std::error_code ec;
      asio::ip::make_address(v, ec);
      if (ec) usage_error("--listen: '" + v + "' is not an IPv4 or IPv6 address");
      opt.listen = v;
    } else if (arg == "--id") {
      std::string_view v = take();
      // It goes into a header field value (RFC 9110 §5.5): visible characters and spaces.
      bool ok = !v.empty();
      for (unsigned char c : v) ok = ok && (c >= 0x20 && c != 0x7F);
      if (!ok) usage_error("--id: expected a non-empty name without control characters");
      opt.id = v;
    } else if (arg == "-l" || arg == "--loglevel") {
      std::string_view v = take();
      auto level = spdlog::level::from_str(std::string(v));
      // from_str also knows trace/critical/off, which the project's -l does not offer.
      if (v != "err" && v != "warn" && v != "info" && v != "debug") {
        usage_error("--loglevel: expected err|warn|info|debug, got '" + std::string(v) + "'");
      }
      opt.level = level;
    } else {
      usage_error("unknown option '" + std::string(argv[i]) + "'");
    }
  }
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  Server srv;
  srv.opt = parse_args(argc, argv);
  srv.log = spdlog::stderr_color_st(srv.opt.id);
  srv.log->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  srv.log->set_level(srv.opt.level);
  srv.log->flush_on(spdlog::level::info);
  srv.hello_keep_alive = make_hello(srv, true, false);
  srv.hello_keep_alive10 = make_hello(srv, true, true);
  srv.hello_close = make_hello(srv, false, false);

  asio::io_context io(1);
  tcp::acceptor acceptor(io);
  try {
    acceptor = lb::net::listen(io, srv.opt.listen, srv.opt.port);
  } catch (const std::system_error& e) {
    srv.log->error("cannot listen on {} port {}: {}", srv.opt.listen, srv.opt.port,
                   e.code().message());
    return 1;
  }
  srv.log->info("{} listening on {}", srv.opt.id,
                lb::net::endpoint_text(acceptor.local_endpoint()));

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](std::error_code ec, int sig) {
    if (ec) return;
    srv.log->info("signal {}: exiting", sig);
    io.stop();
  });
  asio::co_spawn(io, accept_loop(acceptor, srv), asio::detached);
  io.run();
  return 0;
}
