#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lb/http1/parser.hpp"
#include "lb/http2/client_stream.hpp"
#include "lb/http2/translate.hpp"
#include "lb/net/stream.hpp"
#include "lb/net/watchdog.hpp"
#include "lb/pool/h2_connection.hpp"
#include "lb/pool/upstream_connection.hpp"
#include "lb/proxy/proxy_error.hpp"
#include "lb/proxy/worker.hpp"
#include "lb/util/buffer.hpp"

namespace lb::proxy {

// One client connection: reads requests (pipelined ones in order), forwards each to a
// backend picked by the strategy, streams the response back. Lives in the coroutine frame
// started by serve(); runs on the worker's loop only.
class Session {
 public:
  // `admin`: a connection to --admin, where every request is answered locally.
  Session(Worker& worker, asio::ip::tcp::socket socket, bool admin = false);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::awaitable<void> run();
  // Graceful stop: a session waiting for its next request closes now; one in the middle
  // of a request closes after the response (Worker::draining).
  void close_if_idle();

 private:
  enum class Outcome { keep_alive, close };

  asio::awaitable<bool> read_request_head();
  // Requests the balancer answers itself (local_reply.cpp): GET /metrics, and on an --admin
  // connection everything else with 404.
  static bool is_metrics_request(const http1::Head& h, const char* base);
  asio::awaitable<Outcome> answer_locally();
  asio::awaitable<Outcome> forward_request();
  asio::awaitable<std::optional<ProxyError>> connect_upstream(std::size_t backend);
  asio::awaitable<std::optional<ProxyError>> connect_fresh(std::size_t backend);
  // Sends the head (Host for backend_) and streams the body; after the first attempt,
  // resends the request held whole in the buffer (only when replayable_).
  asio::awaitable<std::optional<ProxyError>> send_request();
  // Reads more request body from the client into buf_ (send_request and send_h2_body).
  // While `hold`, parsed bytes stay in buf_ for a replay; when it is full they are let go:
  // `hold` becomes false and `sent` (parsed body bytes already passed on) 0.
  asio::awaitable<std::optional<ProxyError>> read_request_body(bool& hold, std::uint64_t& sent);
  // After parsed body bytes went to the backend: held, they stay in the parser's output (for
  // a replay) and `sent` counts them; otherwise the output is dropped and `sent` is 0.
  void passed_on(bool hold, std::uint64_t& sent);
  asio::awaitable<std::optional<ProxyError>> read_response_head();
  asio::awaitable<Outcome> relay_response_body();
  asio::awaitable<void> reply_error(const ProxyError& err, bool close);
  asio::awaitable<bool> write_client(std::string_view prefix, const http1::Parser* body);
  // Writes prefix and body.output() except its first `skip` bytes (already sent).
  asio::awaitable<std::error_code> write_upstream(std::string_view prefix,
                                                  const http1::Parser& body,
                                                  std::uint64_t skip = 0);
  ProxyError upstream_error(std::string_view code, int status, const std::string& what) const;
  void finish_upstream(bool reusable);
  // The down backend down longest and not yet tried, or kNoBackend.
  std::size_t down_longest() const;
  // "all N backends are down: a (reason); b (reason)".
  std::string all_down_text() const;
  // Adds a failed attempt to attempt_log_ for the final error reply.
  void note_attempt(const ProxyError& err);
  void access_log(int status, std::uint64_t bytes) const;

  // The --trace label of the upstream connection serving this client: "c7/u3".
  std::string upstream_label(const pool::UpstreamConnection& conn) const;
  // Wraps a freshly connected upstream connection in TLS when its backend wants it.
  asio::awaitable<std::optional<ProxyError>> start_tls(pool::UpstreamConnection& conn);

  // HTTP/2 upstream (h2_exchange.cpp). One request on backend's shared connections.
  struct H2Result {
    std::optional<Outcome> outcome;   // the exchange ended (response relayed or client gone)
    std::optional<ProxyError> error;  // no response: the error for the client
    bool retry = false;               // error: another backend may be tried
  };
  // `opened`: the connection this request just opened, when ALPN chose h2 on it.
  asio::awaitable<H2Result> exchange_h2(std::size_t backend,
                                        std::shared_ptr<pool::H2Connection> opened);
  // A connection with a free stream slot in h2_conn_: pooled, or newly opened (here, or
  // `opened` by the caller), waiting while all are full. A connection this request opened
  // that fails before it is ready fails the request.
  asio::awaitable<std::optional<ProxyError>> acquire_h2(std::size_t backend,
                                                        std::shared_ptr<pool::H2Connection> opened);
  std::shared_ptr<pool::H2Connection> adopt_h2(std::unique_ptr<pool::UpstreamConnection> conn);
  asio::awaitable<std::optional<ProxyError>> send_h2_body();
  asio::awaitable<std::optional<ProxyError>> wait_h2_head();
  asio::awaitable<Outcome> relay_h2_body();
  ProxyError h2_stream_error() const;
  asio::awaitable<bool> write_client_iov();

  Worker& w_;
  bool admin_;                       // an --admin connection
  std::size_t index_;                // in w_.sessions
  metrics::GaugeHold client_gauge_;  // counts this connection in lb_client_connections
  bool idle_ = false;                // waiting for the first byte of a request
  net::Stream client_;
  std::unique_ptr<trace::HexTrace> client_tap_;  // --trace only
  std::uint64_t client_id_;                      // "c<N>" in traces
  std::string client_addr_;
  util::Buffer buf_;
  http1::Parser parser_;
  net::Watchdog watchdog_;
  std::string head_out_;                 // serialized heads and error replies, reused
  std::vector<asio::const_buffer> iov_;  // gather list for one write, reused
  std::unique_ptr<pool::UpstreamConnection> up_;
  std::shared_ptr<pool::H2Connection> h2_conn_;
  http2::ClientStream h2_stream_;
  http2::FieldList h2_fields_;
  std::string h2_body_;              // HTTP/2 DATA being written to the client
  std::string chunk_line_;           // chunk-size line for re-chunked HTTP/2 DATA
  std::string trailer_out_;          // last chunk with an HTTP/2 response's trailers
  bool client_te_trailers_ = false;  // the client sent "TE: trailers"

  // Per request.
  std::chrono::steady_clock::time_point started_;
  std::string target_;  // for the access log; capacity reused
  std::string_view method_;
  bool client_http10_ = false;
  bool client_keep_alive_ = true;
  bool is_head_ = false;
  std::size_t backend_ = 0;
  std::uint64_t response_bytes_ = 0;
  int response_status_ = 0;
  bool replayable_ = false;      // the whole request is in hand (iov_) and can be resent
  bool stale_ = false;           // a reused pooled connection failed before any response byte
  bool backend_chosen_ = false;  // backend_ names this request's backend
  std::size_t up_pos_ = 0;       // end of the response head in up_->buffer
  bool sent_once_ = false;       // the request went to some backend at least once
  bool request_done_ = false;    // the whole request was read from the client
  static constexpr std::size_t kMaxAttempts = 11;  // --retries is at most 10
  std::size_t tried_[kMaxAttempts];                // backends tried for this request
  std::size_t tried_count_ = 0;
  std::string attempt_log_;  // failed attempts, for the final error reply
};

// Serves one accepted connection until it closes; `admin` for --admin connections.
asio::awaitable<void> serve(Worker& worker, asio::ip::tcp::socket socket, bool admin = false);

}  // namespace lb::proxy
