#include "lb/metrics/prometheus.hpp"

#include <cstdio>

namespace lb::metrics {

namespace {

constexpr std::memory_order kRelaxed = std::memory_order_relaxed;

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// Label values here are host:port names and fixed codes; escaped anyway (text format rules).
void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
}

void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  char num[32];
  int n = std::snprintf(num, sizeof num, "%.9g", value);
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(num, static_cast<std::size_t>(n)).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

std::string backend_label(std::string_view name) {
  std::string l = "backend=\"";
  append_label_value(l, name);
  l += '"';
  return l;
}

// Sum over workers of one field (a Counter or a Gauge) of a backend's counters.
template <typename F>
auto sum(const Region& r, std::size_t b, F field) {
  decltype(field(r.backend(0, b)).load()) total = 0;
  for (std::size_t w = 0; w < r.workers(); ++w) total += field(r.backend(w, b)).load(kRelaxed);
  return total;
}

void histogram_family(std::string& out, const Region& r, std::span<const BackendInfo> backends,
                      std::string_view name, std::string_view help,
                      Histogram BackendCounters::*member) {
  family(out, name, "histogram", help);
  std::string bucket_name = std::string(name) + "_bucket";
  std::string sum_name = std::string(name) + "_sum";
  std::string count_name = std::string(name) + "_count";
  for (std::size_t b = 0; b < backends.size(); ++b) {
    std::string label = backend_label(backends[b].name);
    std::uint64_t cumulative = 0;
    std::uint64_t sum_ns = 0;
    for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
      for (std::size_t w = 0; w < r.workers(); ++w) {
        cumulative += (r.backend(w, b).*member).buckets[i].load(kRelaxed);
      }
      char le[32];
      if (i < kBuckets.size()) {
        std::snprintf(le, sizeof le, "%g", kBuckets[i]);
      } else {
        std::snprintf(le, sizeof le, "+Inf");
      }
      sample(out, bucket_name, label + ",le=\"" + le + "\"", cumulative);
    }
    for (std::size_t w = 0; w < r.workers(); ++w) {
      sum_ns += (r.backend(w, b).*member).sum_ns.load(kRelaxed);
    }
    sample(out, sum_name, label, static_cast<double>(sum_ns) / 1e9);
    sample(out, count_name, label, cumulative);
  }
}

void counter_family(std::string& out, const Region& r, std::span<const BackendInfo> backends,
                    std::string_view name, std::string_view help,
                    Counter BackendCounters::*member) {
  family(out, name, "counter", help);
  for (std::size_t b = 0; b < backends.size(); ++b) {
    sample(out, name, backend_label(backends[b].name),
           sum(r, b, [&](const BackendCounters& c) -> const Counter& { return c.*member; }));
  }
}

}  // namespace

void write_prometheus(const Region& r, std::span<const BackendInfo> backends,
                      std::string_view version, std::string& out) {
  out.reserve(out.size() + 4096 + backends.size() * 8192);

  family(out, "lb_requests_total", "counter",
         "Responses sent to clients for requests that went to a backend, by status class.");
  for (std::size_t b = 0; b < backends.size(); ++b) {
    std::string label = backend_label(backends[b].name);
    for (std::size_t cls = 0; cls < 5; ++cls) {
      std::string l = label + ",code=\"" + std::to_string(cls + 1) + "xx\"";
      sample(
          out, "lb_requests_total", l,
          sum(r, b, [&](const BackendCounters& c) -> const Counter& { return c.responses[cls]; }));
    }
  }
  histogram_family(out, r, backends, "lb_request_duration_seconds",
                   "Time from a request's first byte to the end of its response.",
                   &BackendCounters::duration);
  histogram_family(out, r, backends, "lb_upstream_connect_duration_seconds",
                   "TCP connect time to a backend.", &BackendCounters::connect);
  histogram_family(out, r, backends, "lb_upstream_tls_handshake_duration_seconds",
                   "TLS handshake time with a backend.", &BackendCounters::tls_handshake);
  histogram_family(out, r, backends, "lb_time_to_first_byte_seconds",
                   "Time from a request's first byte to the backend's response head.",
                   &BackendCounters::first_byte);
  counter_family(out, r, backends, "lb_retries_total",
                 "Requests sent again to the same backend (closed pooled connection, refused "
                 "HTTP/2 stream).",
                 &BackendCounters::retries);
  counter_family(out, r, backends, "lb_failovers_total",
                 "Requests that failed on this backend and went on to another.",
                 &BackendCounters::failovers);

  family(out, "lb_backend_up", "gauge", "1 when the backend is up, 0 when it is down.");
  for (const auto& b : backends)
    sample(out, "lb_backend_up", backend_label(b.name), b.up ? 1.0 : 0.0);
  family(out, "lb_backend_health_changes_total", "counter",
         "Health state changes (up to down or down to up) of a backend.");
  for (const auto& b : backends) {
    sample(out, "lb_backend_health_changes_total", backend_label(b.name), b.health_changes);
  }

  family(out, "lb_client_connections", "gauge", "Client connections open now.");
  std::int64_t clients = 0;
  for (std::size_t w = 0; w < r.workers(); ++w) {
    clients += r.worker(w).client_connections.load(kRelaxed);
  }
  sample(out, "lb_client_connections", "", static_cast<double>(clients));

  family(out, "lb_pool_connections", "gauge",
         "Connections to a backend, idle in the pool or busy with a request.");
  for (std::size_t b = 0; b < backends.size(); ++b) {
    std::string label = backend_label(backends[b].name);
    std::int64_t open =
        sum(r, b, [](const BackendCounters& c) -> const Gauge& { return c.connections_open; });
    std::int64_t idle =
        sum(r, b, [](const BackendCounters& c) -> const Gauge& { return c.connections_idle; });
    sample(out, "lb_pool_connections", label + ",state=\"idle\"", static_cast<double>(idle));
    sample(out, "lb_pool_connections", label + ",state=\"busy\"", static_cast<double>(open - idle));
  }
  counter_family(out, r, backends, "lb_pool_reused_total",
                 "Requests sent on a pooled (reused) backend connection.",
                 &BackendCounters::pool_reused);
  counter_family(out, r, backends, "lb_pool_new_connections_total", "Backend connections opened.",
                 &BackendCounters::pool_new);
  counter_family(out, r, backends, "lb_pool_stale_total",
                 "Pooled connections found closed by the backend when reused.",
                 &BackendCounters::pool_stale);
  counter_family(out, r, backends, "lb_backend_received_bytes_total",
                 "Bytes read from a backend (after TLS).", &BackendCounters::bytes_received);
  counter_family(out, r, backends, "lb_backend_sent_bytes_total",
                 "Bytes written to a backend (before TLS).", &BackendCounters::bytes_sent);

  family(out, "lb_errors_total", "counter",
         "Replies the balancer made itself, by their X-LB-Error code.");
  for (std::size_t i = 0; i <= kErrorCodes.size(); ++i) {
    std::uint64_t n = 0;
    for (std::size_t w = 0; w < r.workers(); ++w) n += r.worker(w).errors[i].load(kRelaxed);
    std::string l = "code=\"";
    l.append(i < kErrorCodes.size() ? kErrorCodes[i] : "other").append("\"");
    sample(out, "lb_errors_total", l, n);
  }

  const RegionHeader& h = r.header();
  family(out, "lb_worker_restarts_total", "counter", "Workers that died and were replaced.");
  sample(out, "lb_worker_restarts_total", "", h.worker_restarts.load(kRelaxed));
  family(out, "lb_config_reloads_total", "counter", "Config reloads, by result.");
  sample(out, "lb_config_reloads_total", "result=\"success\"", h.reloads_ok.load(kRelaxed));
  sample(out, "lb_config_reloads_total", "result=\"failure\"", h.reloads_failed.load(kRelaxed));
  family(out, "lb_build_info", "gauge", "Always 1; the version is in the label.");
  std::string l = "version=\"";
  append_label_value(l, version);
  l += '"';
  sample(out, "lb_build_info", l, 1.0);
}

}  // namespace lb::metrics
