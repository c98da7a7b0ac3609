#pragma once

// Integration test harness: child processes (load_balancer, backend1, backend2), a libcurl
// client, a raw socket client, a minimal HTTP/1.1 message reader, and ScriptedUpstream, an
// in-test backend whose behaviour each test writes as a lambda. Everything talks to
// 127.0.0.1 only, on ports the OS hands out.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace it {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Default deadline for anything the tests wait for (readiness, a response, a close).
inline constexpr Clock::duration kTimeout = 20s;

// ---------------------------------------------------------------------------------------
// Child processes

// Result of a program run to completion with stdout and stderr kept apart.
struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or still running at the deadline
  std::string out;
  std::string err;
};

// What a Process gets beyond its arguments.
struct SpawnOptions {
  std::vector<std::string> env;  // "NAME=value": set on top of the test's environment
  // Handed to the program as descriptor 3, open across exec (e.g. a listening socket for
  // nginx's NGINX variable); -1 = none. The caller keeps (and closes) its own copy.
  int inherit_fd = -1;
  // The program leads a process group of its own, and whatever is left in that group (e.g.
  // nginx workers) gets SIGKILL when the program is reaped.
  bool own_process_group = false;
};

// Runs LB_BIN_DIR/<name> (or `name` when it is a path, with a '/') with args and waits for
// it to exit (killed at the deadline);
// `options` adds environment variables or an inherited descriptor.
RunResult run_program(const std::string& name, const std::vector<std::string>& args,
                      Clock::duration timeout = kTimeout, const SpawnOptions& options = {});

// The checks a start-up refusal passes (a usage error, an unusable file): exit code 2,
// exactly one line on stderr, which contains `must_mention`, nothing on stdout, nothing
// started (no "listening on").
void expect_one_line_error(const RunResult& r, const std::string& must_mention);

// A program started in the background; stdout and stderr go to one temp log file. The
// destructor terminates it (SIGTERM, then SIGKILL) and reaps it.
class Process {
 public:
  // `program` is a name in LB_BIN_DIR, or a path when it contains a '/'. Throws
  // std::runtime_error when the program cannot be started.
  Process(const std::string& program, const std::vector<std::string>& args,
          const SpawnOptions& options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Everything the program wrote so far.
  std::string log() const;
  // Waits for a `listening on ADDR:PORT` log line and returns PORT; throws with the log
  // when the program exits or the deadline passes first.
  std::uint16_t wait_for_port(Clock::duration timeout = kTimeout);
  std::uint16_t port() const { return port_; }
  // Waits until the log contains `needle` at least `count` times.
  bool wait_for_log(std::string_view needle, Clock::duration timeout = kTimeout,
                    std::size_t count = 1) const;
  // Occurrences of `needle` in the log.
  std::size_t log_count(std::string_view needle) const;
  // Peak resident set size (VmHWM) in KiB; -1 when unavailable.
  long peak_rss_kb() const;
  // Whether it has not exited yet.
  bool running();
  // Sends `sig` (e.g. SIGTERM) and returns at once.
  void signal(int sig) const;
  // Waits up to `timeout` for it to exit: its exit code (-1 for a signal), or nullopt while
  // it still runs.
  std::optional<int> wait_exit(Clock::duration timeout);
  // SIGTERM, up to `grace` for it to exit, then SIGKILL. Returns the exit code (-1 when it
  // was killed by a signal). Idempotent.
  int terminate(Clock::duration grace = 10s);

 private:
  void reap(int status);
  // own_process_group only: reaps the program if it has exited, after killing its group.
  void reap_group_if_exited();

  pid_t pid_ = -1;
  bool own_group_ = false;
  std::string log_path_;
  std::uint16_t port_ = 0;
  bool exited_ = false;
  int exit_code_ = -1;
};

// A port bound but never listened on: connecting to it is refused at once. Holding the
// socket keeps the OS from handing the port to anyone else during the test.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;
  std::uint16_t port() const { return port_; }
  std::string backend() const;  // "127.0.0.1:PORT"

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// "127.0.0.1:PORT" plus ",weight=N" when weight > 0: a -b value.
std::string backend_arg(std::uint16_t port, unsigned weight = 0);
// "h2c://127.0.0.1:PORT": a -b value for HTTP/2 with prior knowledge.
std::string h2c_backend(std::uint16_t port);

// load_balancer listening on 127.0.0.1, port 0, in front of `backends` (-b values), with
// --no-active-health unless extra_args holds a --health-* flag, and --mode sp unless it
// holds --mode (or $LB_IT_WORKERS=N asks for --mode mp -w N); `options` adds environment
// variables (e.g. SSLKEYLOGFILE).
std::unique_ptr<Process> start_balancer(const std::vector<std::string>& backends,
                                        const std::vector<std::string>& extra_args = {},
                                        const SpawnOptions& options = {});

// backend1 or backend2 (n = 1 or 2) on 127.0.0.1, port 0; `id` overrides its identity.
std::unique_ptr<Process> start_backend(int n, const std::string& id = {});

// fault_backend on 127.0.0.1, port 0, with `extra` flags (--mode, --script, ...).
std::unique_ptr<Process> start_fault(const std::vector<std::string>& extra = {});

// "http://127.0.0.1:PORT" + path.
std::string url(std::uint16_t port, std::string_view path = "/");

// fault_backend's GET /_fault/stats on 127.0.0.1:port over HTTP/1.1, parsed (null when the
// call fails, which is also a test failure).
nlohmann::json fault_stats(std::uint16_t port);
// Polls fault_stats until `key` is at least `at_least`; false at the deadline.
bool wait_for_stat(std::uint16_t port, const char* key, long at_least,
                   Clock::duration timeout = kTimeout);

// ---------------------------------------------------------------------------------------
// Files and text

// A fresh directory $TMPDIR/<prefix>-XXXXXX (/tmp without TMPDIR), removed with everything
// in it by the destructor. Throws std::runtime_error when it cannot be made.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "lb-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// The whole file; empty when it cannot be read.
std::string read_text(const std::string& path);
// `text` split at '\n' (no '\n' kept; no empty last line for a trailing '\n').
std::vector<std::string> split_lines(std::string_view text);
// Occurrences of `needle` in `text`, not overlapping.
std::size_t count_of(std::string_view text, std::string_view needle);

// ---------------------------------------------------------------------------------------
// HTTP/1.1 messages as the tests see them

using Header = std::pair<std::string, std::string>;
using Headers = std::vector<Header>;

bool iequals(std::string_view a, std::string_view b);
// First value of `name` (case-insensitive).
std::optional<std::string> find_header(const Headers& headers, std::string_view name);
// All values of `name`, in order.
std::vector<std::string> header_values(const Headers& headers, std::string_view name);

// One parsed request or response. Deliberately simple: only for checking what the balancer
// produced, not a validating parser.
struct Message {
  std::string start_line;               // "GET / HTTP/1.1" or "HTTP/1.1 200 OK"
  std::string head;                     // raw head, through the empty line
  std::string method, target, version;  // requests (version also for responses)
  int status = 0;                       // responses
  std::string reason;                   // responses
  Headers headers;                      // in order, names as sent
  Headers trailers;                     // chunked bodies only
  std::string body;                     // payload, de-chunked
  std::string raw_body;                 // body bytes as framed on the wire
  bool chunked = false;
  bool close_delimited = false;  // a response body that ended at the connection close

  std::optional<std::string> header(std::string_view name) const {
    return find_header(headers, name);
  }
  std::vector<std::string> all(std::string_view name) const { return header_values(headers, name); }
};

enum class MessageKind { request, response };

// Parses a complete head (start line and fields, through the empty line); no body.
Message parse_head(std::string_view head, MessageKind kind);

// Parses one message at the start of `data`. Returns nullopt while more bytes are needed;
// `eof` says the peer closed (ends a close-delimited response body), `no_body` is for
// responses to HEAD. Sets `consumed`. Throws std::runtime_error on unparsable framing.
std::optional<Message> parse_message(std::string_view data, MessageKind kind, std::size_t& consumed,
                                     bool eof = false, bool no_body = false);

// ---------------------------------------------------------------------------------------
// Raw socket client

// A blocking TCP connection to 127.0.0.1:port for byte-exact requests.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port);  // throws when it cannot connect
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool send(std::string_view bytes);
  void shutdown_write();
  // The next complete response (1xx interim responses are returned as responses of their
  // own); nullopt at the deadline or when the connection ends first.
  std::optional<Message> read_response(bool head_request = false,
                                       Clock::duration timeout = kTimeout);
  // Reads until `needle` has arrived (the bytes stay buffered for read_response).
  bool read_until(std::string_view needle, Clock::duration timeout = kTimeout);
  // Everything until the peer closes (or resets, or the deadline passes), after what is
  // already buffered.
  std::string read_until_close(Clock::duration timeout = kTimeout);
  // True once the peer closed or reset the connection and sent nothing more; false when
  // bytes arrive instead, or at the deadline.
  bool wait_closed(Clock::duration timeout = kTimeout);
  // The peer closed (or reset) the connection.
  bool peer_closed() const { return eof_; }
  const std::string& buffered() const { return buf_; }

 private:
  bool fill(Clock::time_point deadline);

  int fd_ = -1;
  std::string buf_;
  bool eof_ = false;
};

// ---------------------------------------------------------------------------------------
// libcurl client

struct CurlRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::optional<std::string> body;   // request body (Content-Length unless chunked)
  bool http10 = false;
  bool chunked = false;          // upload the body with Transfer-Encoding: chunked
  bool expect_continue = false;  // send Expect: 100-continue and wait for the interim
  // Streaming upload instead of `body`: fills the buffer, returns bytes written (0 = end).
  std::function<std::size_t(char*, std::size_t)> source;
  std::optional<std::uint64_t> source_size;  // Content-Length for `source` (else chunked)
  // Streaming download instead of collecting the body; return false to abort.
  std::function<bool(const char*, std::size_t)> sink;
  Clock::duration timeout = kTimeout;
};

struct CurlResponse {
  int curl_code = -1;  // CURLcode; 0 = success
  std::string error;
  long status = 0;
  std::string status_line;           // of the final response
  std::vector<std::string> interim;  // status lines of 1xx responses, in order
  Headers headers;                   // of the final response, in order, as sent
  std::string body;                  // unless a sink was given
  std::uint64_t body_bytes = 0;      // body bytes received (also with a sink)

  std::optional<std::string> header(std::string_view name) const {
    return find_header(headers, name);
  }
  std::vector<std::string> all(std::string_view name) const { return header_values(headers, name); }
};

CurlResponse http(const CurlRequest& request);
inline CurlResponse http_get(const std::string& u) { return http({.url = u}); }
// Runs `count` requests at once, each on its own connection (a thread each); the responses
// in request order.
std::vector<CurlResponse> concurrently(std::size_t count,
                                       const std::function<CurlRequest(std::size_t)>& request);

// The checks every reply the balancer makes itself passes: status, X-LB-Error, plain-text
// body starting with the status.
void expect_lb_error(const CurlResponse& r, long status, const std::string& code);

// ---------------------------------------------------------------------------------------
// TLS (OpenSSL)

// The calling thread's OpenSSL error queue as one line, oldest first ("no OpenSSL error"
// when empty); empties the queue.
std::string openssl_error_text();

// TLS settings of a ScriptedUpstream.
struct TlsServerConfig {
  std::string cert_file;  // PEM; may hold the chain after the leaf
  std::string key_file;   // PEM, unencrypted
  // Protocols the server accepts, in its order of preference, e.g. {"http/1.1"}; a client
  // offering none of them gets a no_application_protocol alert (RFC 7301 §3.2). Empty: no
  // ALPN callback, so the server never selects a protocol.
  std::vector<std::string> alpn;
  // When non-empty, NSS key log lines (for Wireshark/tshark) are appended to this file.
  std::string keylog_file;
  // Session tickets and the server-side session cache: resumption allowed.
  bool tickets = true;
};

// ---------------------------------------------------------------------------------------
// ScriptedUpstream

// One accepted connection of a ScriptedUpstream, handed to its handler. Reads give up at the
// deadline, when the peer closes, or when the upstream stops. On a TLS upstream the
// handshake is done before the handler runs, and every operation carries application data
// through the TLS session (bytes are counted as plaintext).
class ScriptedConn {
 public:
  ScriptedConn(const ScriptedConn&) = delete;
  ScriptedConn& operator=(const ScriptedConn&) = delete;
  ~ScriptedConn();

  // The next request (head and body); bytes after it stay buffered (pipelining).
  std::optional<Message> read_request(Clock::duration timeout = kTimeout);
  // Only the next request head (raw); the body is left for read_some.
  std::optional<std::string> read_head(Clock::duration timeout = kTimeout);
  // Up to `n` bytes (buffered ones first); 0 at EOF, stop or deadline. Not recorded.
  std::size_t read_some(char* out, std::size_t n, Clock::duration timeout = kTimeout);
  bool send(std::string_view bytes);
  void close();  // FIN; on TLS first a close_notify alert
  void reset();  // RST: SO_LINGER 0, then close (on TLS without close_notify)
  // Blocks until the peer closes or the upstream stops, discarding what arrives.
  void hang();
  std::size_t index() const { return index_; }  // 0 for the first accepted connection
  // TLS only: whether the client resumed an earlier session.
  bool resumed() const;
  // TLS only: the protocol ALPN selected; empty when none was.
  std::string alpn() const;

 private:
  friend class ScriptedUpstream;
  enum class Io { data, eof, stopped, timeout };

  ScriptedConn(class ScriptedUpstream& owner, int fd, std::size_t index)
      : owner_(owner), fd_(fd), index_(index) {}
  // Reads more into buf_; false at EOF, stop or the deadline.
  bool fill(Clock::time_point deadline);
  void drain();
  // TLS: the server side of the handshake; false when it failed, timed out or was stopped.
  bool tls_accept(ssl_ctx_st* ctx);
  // TLS: up to `n` bytes of application data into `out` (`got`), waiting until `deadline`.
  Io tls_read(char* out, std::size_t n, std::size_t& got, Clock::time_point deadline);
  bool tls_fill(Clock::time_point deadline);
  void tls_drain();
  void tls_close(bool notify);

  class ScriptedUpstream& owner_;
  int fd_;
  std::size_t index_;
  std::string buf_;
  bool eof_ = false;
  ssl_st* ssl_ = nullptr;
  bool tls_failed_ = false;  // a fatal TLS error happened: no close_notify any more
  bool resumed_ = false;
  std::string alpn_;
};

// An HTTP server on 127.0.0.1:0 run by threads of the test: every accepted connection runs
// `handler` on its own thread; the connection is closed when the handler returns.
class ScriptedUpstream {
 public:
  using Handler = std::function<void(ScriptedConn&)>;

  explicit ScriptedUpstream(Handler handler);
  // HTTPS: each connection completes a TLS handshake before `handler` runs; one that fails
  // (the client rejected the certificate, offered no common protocol, went away) is closed
  // without running the handler. TLS connections are non-blocking and use TCP_NODELAY.
  // Throws std::runtime_error when the certificate or key cannot be loaded.
  ScriptedUpstream(Handler handler, TlsServerConfig tls);
  ~ScriptedUpstream();
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  std::uint16_t port() const { return port_; }
  std::string backend() const { return backend_arg(port_); }  // "127.0.0.1:PORT"

  // Stops: accepts connections still queued, reads every byte already sent to any
  // connection (so bytes_received() is final), unblocks handlers and joins them. Idempotent.
  void stop();

  // TCP connections accepted (on TLS also those whose handshake then failed).
  std::size_t connections() const { return accepted_.load(); }
  // Connections closed: handlers returned, plus failed TLS handshakes.
  std::size_t finished_connections() const { return finished_.load(); }
  std::uint64_t bytes_received() const { return bytes_.load(); }
  // TLS: handshakes that failed or timed out (not those cut short by stop()).
  std::size_t handshake_failures() const { return handshake_failures_.load(); }
  // TLS: handshakes that resumed an earlier session.
  std::size_t resumed_handshakes() const { return resumed_.load(); }
  // TLS: why the latest failed handshake failed (OpenSSL's words); empty if none failed.
  std::string last_handshake_error() const;
  // Requests returned by read_request, in the order they were read.
  std::vector<Message> requests() const;
  bool wait_for_requests(std::size_t n, Clock::duration timeout = kTimeout) const;
  // Waits until `n` handlers have returned (their connections are closed).
  bool wait_for_finished(std::size_t n, Clock::duration timeout = kTimeout) const;

  // A handler answering every request on the connection with `response`, until EOF.
  static Handler reply_always(std::string response);

 private:
  friend class ScriptedConn;
  void accept_loop();
  void accept_pending();
  void serve(int fd, std::size_t index);
  void listen_on_loopback();
  static void on_keylog(const ssl_st* ssl, const char* line);
  void note_handshake_error(std::string text);

  Handler handler_;
  ssl_ctx_st* tls_ = nullptr;  // null: plain HTTP
  std::FILE* keylog_ = nullptr;
  std::mutex keylog_mu_;
  std::atomic<std::size_t> handshake_failures_{0};
  std::atomic<std::size_t> resumed_{0};
  std::vector<std::string> alpn_;
  std::string last_handshake_error_;  // guarded by mu_
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> finished_{0};
  std::atomic<std::uint64_t> bytes_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // requests_ grew or a handler finished
  std::vector<Message> requests_;
  std::vector<std::thread> conn_threads_;
  std::thread accept_thread_;
  bool stopped_ = false;
};

// "HTTP/1.1 200 OK" response with Content-Length and the given extra header lines.
std::string ok_response(std::string_view body, std::string_view extra_headers = {});

// ---------------------------------------------------------------------------------------
// Deterministic byte stream for large transfers: byte i of every stream is pattern_at(i).

// Copies the stream bytes [offset, offset + n) to out.
void fill_pattern(std::uint64_t offset, char* out, std::size_t n);
// Whether data equals the stream bytes [offset, offset + n).
bool matches_pattern(std::uint64_t offset, const char* data, std::size_t n);

}  // namespace it
