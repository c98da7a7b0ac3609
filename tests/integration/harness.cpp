#include "harness.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <stdexcept>

#ifndef LB_BIN_DIR
#error "LB_BIN_DIR must name the directory of load_balancer, backend1 and backend2"
#endif

namespace it {

namespace {

// How often blocking waits wake up to look at deadlines and the stop flag.
constexpr int kSliceMs = 20;

int remaining_ms(Clock::time_point deadline, int cap = 1000) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, cap));
}

// "$TMPDIR/<prefix>-XXXXXX", or under /tmp when TMPDIR is unset or empty: a mkstemp template.
std::string temp_template(std::string_view prefix) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/" + std::string(prefix) +
         "-XXXXXX";
}

// A temp file open for writing (O_CLOEXEC); returns the fd and sets `path`.
int make_temp_file(std::string& path) {
  std::string tmpl = temp_template("lb-it");
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("mkostemp failed: " + std::string(std::strerror(errno)));
  path = tmpl;
  return fd;
}

// fork + exec of `path`; stdin is /dev/null and every other inherited descriptor is closed
// (but options.inherit_fd, which becomes descriptor 3). Only async-signal-safe calls happen
// in the child: the test process has threads.
pid_t spawn(const std::string& path, const std::vector<std::string>& args, int out_fd, int err_fd,
            const SpawnOptions& options = {}) {
  std::vector<std::string> argv_text{path};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  rlimit lim{};
  long max_fd = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 ? static_cast<long>(lim.rlim_cur) : 1024;
  max_fd = std::min(max_fd, 65536L);

  // The environment is built here, not in the child: the test's own, minus the names that
  // options.env sets, plus options.env.
  std::vector<std::string> env_text;
  std::vector<char*> envp;
  if (!options.env.empty()) {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry(*e);
      auto named = [&](const std::string& set) {
        auto eq = set.find('=');
        return entry.substr(0, entry.find('=')) == std::string_view(set).substr(0, eq);
      };
      if (std::none_of(options.env.begin(), options.env.end(), named)) env_text.emplace_back(entry);
    }
    env_text.insert(env_text.end(), options.env.begin(), options.env.end());
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  const int inherit_fd = options.inherit_fd;
  const int first_closed = inherit_fd >= 0 ? 4 : 3;

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test binary
    if (options.own_process_group) ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    if (inherit_fd == 3) {
      ::fcntl(3, F_SETFD, 0);  // dup2 onto itself would keep FD_CLOEXEC
    } else if (inherit_fd >= 0) {
      ::dup2(inherit_fd, 3);
    }
#ifdef SYS_close_range
    if (::syscall(SYS_close_range, static_cast<unsigned>(first_closed), ~0U, 0U) != 0)
#endif
      for (long fd = first_closed; fd < max_fd; ++fd) ::close(static_cast<int>(fd));
    if (envp.empty()) {
      ::execv(argv[0], argv.data());
    } else {
      ::execve(argv[0], argv.data(), envp.data());
    }
    _exit(127);
  }
  // Also here, so that the group exists before the parent might signal it.
  if (options.own_process_group) ::setpgid(pid, pid);
  return pid;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

// A name in LB_BIN_DIR, or a path when it contains a '/'.
std::string program_path(const std::string& name) {
  return name.find('/') != std::string::npos ? name : std::string(LB_BIN_DIR) + "/" + name;
}

// Waits for `pid` until the deadline; nullopt if it is still running.
std::optional<int> wait_pid(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::uint64_t parse_number(std::string_view text, int base) {
  std::string s(trim(text));
  if (s.empty() || !std::isxdigit(static_cast<unsigned char>(s[0]))) {
    throw std::runtime_error("bad number in message framing: \"" + s + "\"");
  }
  std::size_t used = 0;
  std::uint64_t n = std::stoull(s, &used, base);
  if (used != s.size()) throw std::runtime_error("bad number in message framing: \"" + s + "\"");
  return n;
}

Header split_field(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return {std::string(line), {}};
  return {std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Child processes

RunResult run_program(const std::string& name, const std::vector<std::string>& args,
                      Clock::duration timeout, const SpawnOptions& options) {
  std::string out_path, err_path;
  int out_fd = make_temp_file(out_path);
  int err_fd = make_temp_file(err_path);
  pid_t pid = spawn(program_path(name), args, out_fd, err_fd, options);
  ::close(out_fd);
  ::close(err_fd);
  RunResult result;
  auto status = wait_pid(pid, Clock::now() + timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  } else {
    result.exit_code = exit_code_of(*status);
  }
  result.out = read_text(out_path);
  result.err = read_text(err_path);
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
  return result;
}

void expect_one_line_error(const RunResult& r, const std::string& must_mention) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  auto lines = split_lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find(must_mention), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("listening on"), std::string::npos);
}

Process::Process(const std::string& program, const std::vector<std::string>& args,
                 const SpawnOptions& options)
    : own_group_(options.own_process_group) {
  int fd = make_temp_file(log_path_);
  std::string path = program_path(program);
  try {
    pid_ = spawn(path, args, fd, fd, options);
  } catch (...) {
    ::close(fd);
    ::unlink(log_path_.c_str());
    throw;
  }
  ::close(fd);
}

Process::~Process() {
  terminate();
  if (::testing::Test::HasFailure()) {
    // The child's own account is usually the quickest way to see why a test failed.
    std::string text = log();
    if (text.size() > 30000) text = "...\n" + text.substr(text.size() - 30000);
    std::fprintf(stderr, "---- log of pid %d (exit code %d) ----\n%s---- end of log ----\n",
                 static_cast<int>(pid_), exit_code_, text.c_str());
  }
  ::unlink(log_path_.c_str());
}

std::string Process::log() const { return read_text(log_path_); }

void Process::reap(int status) {
  exited_ = true;
  exit_code_ = exit_code_of(status);
}

void Process::reap_group_if_exited() {
  siginfo_t info{};
  if (::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != pid_) {
    return;
  }
  // Until it is reaped its pid, and so its group id, cannot be reused by anyone else.
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reap(status);
}

bool Process::running() {
  if (exited_) return false;
  if (own_group_) {
    reap_group_if_exited();
    return !exited_;
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) reap(status);
  return !exited_;
}

std::uint16_t Process::wait_for_port(Clock::duration timeout) {
  static const std::regex kListening(R"(listening on \S*:(\d+))");
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::string text = log();
    std::smatch m;
    if (std::regex_search(text, m, kListening)) {
      port_ = static_cast<std::uint16_t>(std::stoul(m[1].str()));
      return port_;
    }
    if (!running()) {
      throw std::runtime_error("program exited (code " + std::to_string(exit_code_) +
                               ") before listening; its log:\n" + text);
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("no 'listening on' line before the deadline; log:\n" + text);
    }
    std::this_thread::sleep_for(5ms);
  }
}

std::size_t Process::log_count(std::string_view needle) const { return count_of(log(), needle); }

bool Process::wait_for_log(std::string_view needle, Clock::duration timeout,
                           std::size_t count) const {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (log_count(needle) >= count) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

long Process::peak_rss_kb() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void Process::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> Process::wait_exit(Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  return exit_code_;
}

int Process::terminate(Clock::duration grace) {
  if (pid_ <= 0 || !running()) return exit_code_;
  if (own_group_) {
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + grace;
    while (running()) {
      if (Clock::now() >= deadline) ::kill(-pid_, SIGKILL);
      std::this_thread::sleep_for(5ms);
    }
    return exit_code_;
  }
  ::kill(pid_, SIGTERM);
  auto status = wait_pid(pid_, Clock::now() + grace);
  if (!status) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    status = st;
  }
  reap(*status);
  return exit_code_;
}

std::string backend_arg(std::uint16_t port, unsigned weight) {
  std::string s = "127.0.0.1:" + std::to_string(port);
  if (weight > 0) s += ",weight=" + std::to_string(weight);
  return s;
}

RefusingPort::RefusingPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot reserve a port");
  }
  port_ = ntohs(addr.sin_port);
}

RefusingPort::~RefusingPort() { ::close(fd_); }

std::string RefusingPort::backend() const { return backend_arg(port_); }

std::unique_ptr<Process> start_balancer(const std::vector<std::string>& backends,
                                        const std::vector<std::string>& extra_args,
                                        const SpawnOptions& options) {
  std::vector<std::string> args{"-p", "0", "--listen", "127.0.0.1"};
  for (const auto& b : backends) {
    args.push_back("-b");
    args.push_back(b);
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  // One process unless the test chooses: most tests count connections and requests per
  // process. LB_IT_WORKERS=N runs everything else in mp mode with N workers (ctest does so
  // for the proxy suites).
  if (std::find(extra_args.begin(), extra_args.end(), "--mode") == extra_args.end()) {
    const char* workers = std::getenv("LB_IT_WORKERS");
    if (workers != nullptr && *workers != '\0') {
      args.insert(args.end(), {"--mode", "mp", "-w", workers});
    } else {
      args.insert(args.end(), {"--mode", "sp"});
    }
  }
  // Probes would add requests the scripted backends of most tests do not expect; tests of
  // active health pass a --health-* flag.
  bool health_test = false;
  for (const auto& a : extra_args) health_test = health_test || a.rfind("--health-", 0) == 0;
  if (!health_test) args.push_back("--no-active-health");
  auto p = std::make_unique<Process>("load_balancer", args, options);
  p->wait_for_port();
  return p;
}

std::unique_ptr<Process> start_backend(int n, const std::string& id) {
  std::vector<std::string> args{"--port", "0", "--listen", "127.0.0.1"};
  if (!id.empty()) args.insert(args.end(), {"--id", id});
  auto p = std::make_unique<Process>("backend" + std::to_string(n), args);
  p->wait_for_port();
  return p;
}

std::unique_ptr<Process> start_fault(const std::vector<std::string>& extra) {
  std::vector<std::string> args{"--port", "0", "--listen", "127.0.0.1"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto p = std::make_unique<Process>("fault_backend", args);
  p->wait_for_port();
  return p;
}

std::string h2c_backend(std::uint16_t port) { return "h2c://127.0.0.1:" + std::to_string(port); }

nlohmann::json fault_stats(std::uint16_t port) {
  auto r = http_get(url(port, "/_fault/stats"));
  EXPECT_EQ(r.status, 200) << r.body;
  return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
}

bool wait_for_stat(std::uint16_t port, const char* key, long at_least, Clock::duration timeout) {
  for (auto deadline = Clock::now() + timeout; Clock::now() < deadline;) {
    auto s = fault_stats(port);
    if (s.is_object() && s.contains(key) && s[key].get<long>() >= at_least) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

std::string url(std::uint16_t port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

// ---------------------------------------------------------------------------------------
// Files and text

TempDir::TempDir(std::string_view prefix) {
  std::string tmpl = temp_template(prefix);
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = text.find(needle); p != std::string_view::npos;
       p = text.find(needle, p + needle.size())) {
    ++n;
  }
  return n;
}

// ---------------------------------------------------------------------------------------
// Messages

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> header_values(const Headers& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) out.push_back(v);
  }
  return out;
}

Message parse_head(std::string_view head, MessageKind kind) {
  Message m;
  m.head = std::string(head);
  auto line_end = head.find("\r\n");
  m.start_line = std::string(head.substr(0, line_end));
  std::string_view start = m.start_line;
  auto sp1 = start.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : start.find(' ', sp1 + 1);
  if (kind == MessageKind::request) {
    m.method = std::string(start.substr(0, sp1));
    if (sp1 != std::string_view::npos) m.target = std::string(start.substr(sp1 + 1, sp2 - sp1 - 1));
    if (sp2 != std::string_view::npos) m.version = std::string(start.substr(sp2 + 1));
  } else {
    m.version = std::string(start.substr(0, sp1));
    if (sp1 == std::string_view::npos) throw std::runtime_error("bad status line: " + m.start_line);
    m.status = static_cast<int>(parse_number(start.substr(sp1 + 1, sp2 - sp1 - 1), 10));
    if (sp2 != std::string_view::npos) m.reason = std::string(start.substr(sp2 + 1));
  }
  std::size_t end = head.size() >= 4 ? head.size() - 4 : 0;  // the empty line
  for (std::size_t pos = line_end + 2; pos < end + 2 && line_end != std::string_view::npos;) {
    auto next = head.find("\r\n", pos);
    m.headers.push_back(split_field(head.substr(pos, next - pos)));
    pos = next + 2;
  }
  return m;
}

std::optional<Message> parse_message(std::string_view data, MessageKind kind, std::size_t& consumed,
                                     bool eof, bool no_body) {
  consumed = 0;
  auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  Message m = parse_head(data.substr(0, head_end + 4), kind);

  std::size_t body_start = head_end + 4;
  auto te = m.header("transfer-encoding");
  auto cl = m.header("content-length");
  bool bodiless = kind == MessageKind::response &&
                  (no_body || m.status / 100 == 1 || m.status == 204 || m.status == 304);
  if (bodiless) {
    consumed = body_start;
    return m;
  }
  if (te && te->find("chunked") != std::string::npos) {
    m.chunked = true;
    std::size_t p = body_start;
    for (;;) {
      auto eol = data.find("\r\n", p);
      if (eol == std::string_view::npos) return std::nullopt;
      std::string_view size_line = data.substr(p, eol - p);
      std::uint64_t size = parse_number(size_line.substr(0, size_line.find(';')), 16);
      p = eol + 2;
      if (size == 0) {
        for (;;) {  // trailer section up to the empty line
          auto t_end = data.find("\r\n", p);
          if (t_end == std::string_view::npos) return std::nullopt;
          if (t_end == p) {
            p += 2;
            break;
          }
          m.trailers.push_back(split_field(data.substr(p, t_end - p)));
          p = t_end + 2;
        }
        break;
      }
      if (data.size() < p + size + 2) return std::nullopt;
      m.body.append(data.substr(p, size));
      if (data.substr(p + size, 2) != "\r\n") throw std::runtime_error("chunk without CRLF");
      p += size + 2;
    }
    m.raw_body = std::string(data.substr(body_start, p - body_start));
    consumed = p;
    return m;
  }
  if (cl) {
    std::uint64_t n = parse_number(*cl, 10);
    if (data.size() < body_start + n) return std::nullopt;
    m.body = m.raw_body = std::string(data.substr(body_start, n));
    consumed = body_start + n;
    return m;
  }
  if (kind == MessageKind::request) {
    consumed = body_start;
    return m;
  }
  if (!eof) return std::nullopt;
  m.close_delimited = true;
  m.body = m.raw_body = std::string(data.substr(body_start));
  consumed = data.size();
  return m;
}

// ---------------------------------------------------------------------------------------
// Raw client

RawClient::RawClient(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) +
                             " failed: " + std::strerror(e));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawClient::~RawClient() { ::close(fd_); }

bool RawClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void RawClient::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool RawClient::fill(Clock::time_point deadline) {
  if (eof_) return false;
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, remaining_ms(deadline));
  if (r <= 0) return false;
  std::array<char, 65536> chunk;
  ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
  if (n > 0) {
    buf_.append(chunk.data(), static_cast<std::size_t>(n));
    return true;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return false;
  eof_ = true;  // orderly close or reset
  return false;
}

std::optional<Message> RawClient::read_response(bool head_request, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::size_t consumed = 0;
    auto m = parse_message(buf_, MessageKind::response, consumed, eof_, head_request);
    if (m) {
      buf_.erase(0, consumed);
      return m;
    }
    if (eof_ || Clock::now() >= deadline) return std::nullopt;
    fill(deadline);
  }
}

bool RawClient::read_until(std::string_view needle, Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  while (buf_.find(needle) == std::string::npos) {
    if (eof_ || Clock::now() >= deadline) return false;
    fill(deadline);
  }
  return true;
}

bool RawClient::wait_closed(Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  while (!eof_ && Clock::now() < deadline) fill(deadline);
  return eof_;
}

std::string RawClient::read_until_close(Clock::duration timeout) {
  wait_closed(timeout);
  return std::exchange(buf_, {});
}

// ---------------------------------------------------------------------------------------
// libcurl client

namespace {

struct CurlState {
  const CurlRequest* rq;
  CurlResponse* rs;
  std::vector<std::string> status_lines;
  std::uint64_t upload_pos = 0;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto& st = *static_cast<CurlState*>(user);
  std::string_view line = trim({data, size * n});
  if (line.starts_with("HTTP/")) {
    st.status_lines.emplace_back(line);
    st.rs->headers.clear();  // a new response head: the earlier one was interim
  } else if (!line.empty()) {
    st.rs->headers.push_back(split_field(line));
  }
  return size * n;
}

std::size_t on_write(char* data, std::size_t size, std::size_t n, void* user) {
  auto& st = *static_cast<CurlState*>(user);
  st.rs->body_bytes += size * n;
  if (st.rq->sink) return st.rq->sink(data, size * n) ? size * n : 0;
  st.rs->body.append(data, size * n);
  return size * n;
}

std::size_t on_read(char* out, std::size_t size, std::size_t n, void* user) {
  auto& st = *static_cast<CurlState*>(user);
  if (st.rq->source) return st.rq->source(out, size * n);
  const std::string& body = *st.rq->body;
  std::size_t k = std::min<std::size_t>(size * n, body.size() - st.upload_pos);
  std::memcpy(out, body.data() + st.upload_pos, k);
  st.upload_pos += k;
  return k;
}

}  // namespace

CurlResponse http(const CurlRequest& rq) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CurlResponse rs;
  CurlState st{&rq, &rs, {}, 0};
  CURL* h = curl_easy_init();
  if (h == nullptr) {
    rs.error = "curl_easy_init failed";
    return rs;
  }
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  auto ms = [](Clock::duration d) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
  };
  curl_easy_setopt(h, CURLOPT_URL, rq.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROXY, "");  // ignore http_proxy from the environment
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms(rq.timeout));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms(kTimeout));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf.data());
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
                   rq.http10 ? CURL_HTTP_VERSION_1_0 : CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, ms(kTimeout));

  curl_slist* list = nullptr;
  for (const auto& line : rq.headers) list = curl_slist_append(list, line.c_str());
  list = curl_slist_append(list, rq.expect_continue ? "Expect: 100-continue" : "Expect:");
  bool upload = rq.body.has_value() || static_cast<bool>(rq.source);
  bool chunked = upload && (rq.chunked || (rq.source && !rq.source_size));
  if (chunked) list = curl_slist_append(list, "Transfer-Encoding: chunked");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);

  if (rq.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (upload) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &st);
    curl_off_t size = chunked     ? -1
                      : rq.source ? static_cast<curl_off_t>(*rq.source_size)
                                  : static_cast<curl_off_t>(rq.body->size());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, size);
  }
  if (rq.method != "GET" && rq.method != "HEAD" && !(upload && rq.method == "POST")) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq.method.c_str());
  }

  CURLcode rc = curl_easy_perform(h);
  rs.curl_code = static_cast<int>(rc);
  if (rc != CURLE_OK) rs.error = errbuf[0] != '\0' ? errbuf.data() : curl_easy_strerror(rc);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs.status);
  if (!st.status_lines.empty()) {
    rs.status_line = st.status_lines.back();
    rs.interim.assign(st.status_lines.begin(), st.status_lines.end() - 1);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  return rs;
}

std::vector<CurlResponse> concurrently(std::size_t count,
                                       const std::function<CurlRequest(std::size_t)>& request) {
  std::vector<CurlResponse> out(count);
  std::vector<std::thread> threads;
  threads.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([&, i] { out[i] = http(request(i)); });
  }
  for (auto& t : threads) t.join();
  return out;
}

void expect_lb_error(const CurlResponse& r, long status, const std::string& code) {
  EXPECT_EQ(r.curl_code, 0) << r.error;
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.header("X-LB-Error"), code) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_TRUE(r.body.starts_with(std::to_string(status) + " ")) << r.body;
}

// ---------------------------------------------------------------------------------------
// TLS

std::string openssl_error_text() {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(e, text.data(), text.size());
    if (!out.empty()) out += "; ";
    out += text.data();
  }
  return out.empty() ? "no OpenSSL error" : out;
}

// ---------------------------------------------------------------------------------------
// ScriptedUpstream

namespace {

enum class Wait { ready, stopped, timeout };

Wait wait_for(int fd, short events, const std::atomic<bool>& stop, Clock::time_point deadline) {
  for (;;) {
    if (stop.load()) return Wait::stopped;
    if (Clock::now() >= deadline) return Wait::timeout;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, std::min(kSliceMs, remaining_ms(deadline)));
    if (r > 0) return Wait::ready;
  }
}

const std::atomic<bool> kNeverStop{false};

int clamp_int(std::size_t n) {
  return static_cast<int>(std::min<std::size_t>(n, std::numeric_limits<int>::max()));
}

// What a failed SSL call amounts to, for messages.
std::string ssl_failure(const char* call, int ssl_error) {
  std::string out = std::string(call) + ": ";
  if (ssl_error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    return out + (errno != 0 ? std::strerror(errno) : "connection closed");
  }
  return out + openssl_error_text();
}

// RFC 7301 §3.2: the first of the server's protocols the client also offers; none is fatal.
int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                const unsigned char* in, unsigned int inlen, void* arg) {
  const auto& preferred = *static_cast<const std::vector<std::string>*>(arg);
  for (const auto& want : preferred) {
    for (unsigned int i = 0; i < inlen;) {
      unsigned int len = in[i];
      if (i + 1 + len > inlen) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == want) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

ScriptedConn::~ScriptedConn() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

bool ScriptedConn::resumed() const { return resumed_; }

std::string ScriptedConn::alpn() const { return alpn_; }

bool ScriptedConn::tls_accept(SSL_CTX* ctx) {
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
    tls_failed_ = true;
    owner_.note_handshake_error("SSL_new: " + openssl_error_text());
    return false;
  }
  SSL_set_accept_state(ssl_);
  auto deadline = Clock::now() + kTimeout;
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(ssl_);
    if (r == 1) break;
    int e = SSL_get_error(ssl_, r);
    short events = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    Wait w = events != 0 ? wait_for(fd_, events, owner_.stop_, deadline) : Wait::ready;
    if (events == 0 || w != Wait::ready) {
      tls_failed_ = true;
      if (w == Wait::timeout) owner_.note_handshake_error("handshake timed out");
      if (events == 0) owner_.note_handshake_error(ssl_failure("SSL_do_handshake", e));
      ERR_clear_error();
      return false;
    }
  }
  resumed_ = SSL_session_reused(ssl_) == 1;
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &len);
  if (proto != nullptr) alpn_.assign(reinterpret_cast<const char*>(proto), len);
  return true;
}

ScriptedConn::Io ScriptedConn::tls_read(char* out, std::size_t n, std::size_t& got,
                                        Clock::time_point deadline) {
  got = 0;
  // Data OpenSSL has already taken off the socket never shows in poll(), so read before
  // polling when there is some; after WANT_READ (a partial record) poll first.
  bool read_first = SSL_has_pending(ssl_) == 1;
  short events = POLLIN;
  for (;;) {
    if (!read_first) {
      Wait w = wait_for(fd_, events, owner_.stop_, deadline);
      if (w == Wait::stopped) return Io::stopped;
      if (w == Wait::timeout) return Io::timeout;
    }
    read_first = false;
    ERR_clear_error();
    int r = SSL_read(ssl_, out, clamp_int(n));
    if (r > 0) {
      got = static_cast<std::size_t>(r);
      owner_.bytes_ += got;
      return Io::data;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
      continue;
    }
    // close_notify is a clean end; a reset, a FIN without close_notify or a protocol error
    // end the connection as well, but leave no session to shut down.
    if (e != SSL_ERROR_ZERO_RETURN) tls_failed_ = true;
    ERR_clear_error();
    eof_ = true;
    return Io::eof;
  }
}

bool ScriptedConn::tls_fill(Clock::time_point deadline) {
  std::array<char, 65536> chunk;
  std::size_t got = 0;
  Io io = tls_read(chunk.data(), chunk.size(), got, deadline);
  if (io == Io::stopped) tls_drain();
  if (io != Io::data) return false;
  buf_.append(chunk.data(), got);
  return true;
}

void ScriptedConn::tls_drain() {
  std::array<char, 65536> chunk;
  while (fd_ >= 0 && !eof_ && !tls_failed_) {
    ERR_clear_error();
    int r = SSL_read(ssl_, chunk.data(), clamp_int(chunk.size()));
    if (r > 0) {
      owner_.bytes_ += static_cast<std::uint64_t>(r);
      buf_.append(chunk.data(), static_cast<std::size_t>(r));
      continue;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    if (e != SSL_ERROR_ZERO_RETURN) tls_failed_ = true;
    ERR_clear_error();
    eof_ = true;
  }
}

void ScriptedConn::tls_close(bool notify) {
  if (notify && !tls_failed_ && fd_ >= 0 && SSL_is_init_finished(ssl_) == 1) {
    // Our close_notify only: RFC 8446 §6.1 lets a closing side go without waiting for the
    // peer's.
    auto deadline = Clock::now() + 1s;
    for (;;) {
      ERR_clear_error();
      int r = SSL_shutdown(ssl_);
      if (r >= 0) break;
      if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_WRITE ||
          wait_for(fd_, POLLOUT, kNeverStop, deadline) != Wait::ready) {
        break;
      }
    }
  }
  ERR_clear_error();
  SSL_free(ssl_);
  ssl_ = nullptr;
}

bool ScriptedConn::fill(Clock::time_point deadline) {
  if (fd_ < 0 || eof_) return false;
  if (ssl_ != nullptr) return tls_fill(deadline);
  for (;;) {
    Wait w = wait_for(fd_, POLLIN, owner_.stop_, deadline);
    if (w == Wait::stopped) drain();
    if (w != Wait::ready) return false;
    std::array<char, 65536> chunk;
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n > 0) {
      owner_.bytes_ += static_cast<std::uint64_t>(n);
      buf_.append(chunk.data(), static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    eof_ = true;
    return false;
  }
}

void ScriptedConn::drain() {
  // Whatever the peer already sent counts, even if the handler never asked for it.
  if (ssl_ != nullptr) return tls_drain();
  std::array<char, 65536> chunk;
  while (fd_ >= 0 && !eof_) {
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (n > 0) {
      owner_.bytes_ += static_cast<std::uint64_t>(n);
      buf_.append(chunk.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) eof_ = true;
    return;
  }
}

std::optional<Message> ScriptedConn::read_request(Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::size_t consumed = 0;
    auto m = parse_message(buf_, MessageKind::request, consumed);
    if (m) {
      buf_.erase(0, consumed);
      std::lock_guard lock(owner_.mu_);
      owner_.requests_.push_back(*m);
      owner_.cv_.notify_all();
      return m;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<std::string> ScriptedConn::read_head(Clock::duration timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto end = buf_.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string head = buf_.substr(0, end + 4);
      buf_.erase(0, end + 4);
      return head;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::size_t ScriptedConn::read_some(char* out, std::size_t n, Clock::duration timeout) {
  if (!buf_.empty()) {
    std::size_t k = std::min(n, buf_.size());
    std::memcpy(out, buf_.data(), k);
    buf_.erase(0, k);
    return k;
  }
  if (fd_ < 0 || eof_) return 0;
  auto deadline = Clock::now() + timeout;
  if (ssl_ != nullptr) {
    std::size_t got = 0;
    tls_read(out, n, got, deadline);
    return got;
  }
  for (;;) {
    Wait w = wait_for(fd_, POLLIN, owner_.stop_, deadline);
    if (w != Wait::ready) return 0;
    ssize_t r = ::recv(fd_, out, n, MSG_DONTWAIT);
    if (r > 0) {
      owner_.bytes_ += static_cast<std::uint64_t>(r);
      return static_cast<std::size_t>(r);
    }
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    eof_ = true;
    return 0;
  }
}

bool ScriptedConn::send(std::string_view bytes) {
  auto deadline = Clock::now() + kTimeout;
  if (ssl_ != nullptr) {
    short events = POLLOUT;
    while (!bytes.empty() && fd_ >= 0 && !tls_failed_) {
      if (wait_for(fd_, events, owner_.stop_, deadline) != Wait::ready) return false;
      ERR_clear_error();
      int n = SSL_write(ssl_, bytes.data(), clamp_int(bytes.size()));
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        events = POLLOUT;
        continue;
      }
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        continue;
      }
      tls_failed_ = true;
      ERR_clear_error();
    }
    return bytes.empty();
  }
  while (!bytes.empty() && fd_ >= 0) {
    if (wait_for(fd_, POLLOUT, owner_.stop_, deadline) != Wait::ready) return false;
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return bytes.empty();
}

void ScriptedConn::close() {
  if (ssl_ != nullptr) tls_close(true);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void ScriptedConn::reset() {
  if (fd_ < 0) return;
  linger lg{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  if (ssl_ != nullptr) tls_close(false);
  close();
}

void ScriptedConn::hang() {
  auto far = Clock::now() + 10min;  // the upstream's stop() ends it much earlier
  while (fill(far)) buf_.clear();
}

ScriptedUpstream::ScriptedUpstream(Handler handler) : handler_(std::move(handler)) {
  listen_on_loopback();
  accept_thread_ = std::thread([this] { accept_loop(); });
}

ScriptedUpstream::ScriptedUpstream(Handler handler, TlsServerConfig tls)
    : handler_(std::move(handler)), alpn_(std::move(tls.alpn)) {
  try {
    auto fail = [](const std::string& what) {
      throw std::runtime_error("ScriptedUpstream: " + what + ": " + openssl_error_text());
    };
    tls_ = SSL_CTX_new(TLS_server_method());
    if (tls_ == nullptr) fail("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(tls_, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(tls_, tls.cert_file.c_str()) != 1) {
      fail("cannot load certificate " + tls.cert_file);
    }
    if (SSL_CTX_use_PrivateKey_file(tls_, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      fail("cannot load key " + tls.key_file);
    }
    if (SSL_CTX_check_private_key(tls_) != 1) fail("key does not match the certificate");
    // send() may hand over a different tail of its string after WANT_WRITE.
    SSL_CTX_set_mode(tls_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_app_data(tls_, this);
    if (!alpn_.empty()) SSL_CTX_set_alpn_select_cb(tls_, select_alpn, &alpn_);
    if (tls.tickets) {
      static constexpr unsigned char kSessionContext[] = "lb-it";
      SSL_CTX_set_session_cache_mode(tls_, SSL_SESS_CACHE_SERVER);
      SSL_CTX_set_session_id_context(tls_, kSessionContext, sizeof kSessionContext - 1);
    } else {
      SSL_CTX_set_session_cache_mode(tls_, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_options(tls_, SSL_OP_NO_TICKET);
      SSL_CTX_set_num_tickets(tls_, 0);
    }
    if (!tls.keylog_file.empty()) {
      keylog_ = std::fopen(tls.keylog_file.c_str(), "ae");
      if (keylog_ == nullptr) {
        throw std::runtime_error("ScriptedUpstream: cannot open " + tls.keylog_file + ": " +
                                 std::strerror(errno));
      }
      SSL_CTX_set_keylog_callback(tls_, on_keylog);
    }
    listen_on_loopback();
  } catch (...) {
    if (tls_ != nullptr) SSL_CTX_free(tls_);
    if (keylog_ != nullptr) std::fclose(keylog_);
    throw;
  }
  accept_thread_ = std::thread([this] { accept_loop(); });
}

void ScriptedUpstream::on_keylog(const SSL* ssl, const char* line) {
  auto* self = static_cast<ScriptedUpstream*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  std::lock_guard lock(self->keylog_mu_);
  std::fprintf(self->keylog_, "%s\n", line);
  std::fflush(self->keylog_);  // readable by the test while connections go on
}

void ScriptedUpstream::note_handshake_error(std::string text) {
  std::lock_guard lock(mu_);
  last_handshake_error_ = std::move(text);
}

std::string ScriptedUpstream::last_handshake_error() const {
  std::lock_guard lock(mu_);
  return last_handshake_error_;
}

void ScriptedUpstream::listen_on_loopback() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("cannot listen on 127.0.0.1:0");
  }
  port_ = ntohs(addr.sin_port);
}

ScriptedUpstream::~ScriptedUpstream() {
  stop();
  if (tls_ != nullptr) SSL_CTX_free(tls_);
  if (keylog_ != nullptr) std::fclose(keylog_);
}

void ScriptedUpstream::accept_loop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, kSliceMs) > 0) accept_pending();
  }
  accept_pending();  // connections the kernel completed before stop() still count
}

void ScriptedUpstream::accept_pending() {
  for (;;) {
    // TLS connections are non-blocking: SSL_read and SSL_write must not block past a poll.
    int fd = ::accept4(listen_fd_, nullptr, nullptr,
                       SOCK_CLOEXEC | (tls_ != nullptr ? SOCK_NONBLOCK : 0));
    if (fd < 0) return;
    std::size_t index = accepted_++;
    std::lock_guard lock(mu_);
    conn_threads_.emplace_back([this, fd, index] { serve(fd, index); });
  }
}

void ScriptedUpstream::serve(int fd, std::size_t index) {
  ScriptedConn conn(*this, fd, index);
  bool ready = true;
  if (tls_ != nullptr) {
    // SSL_write reaches the socket through write(), which raises SIGPIPE once the peer has
    // reset the connection (plain sends use MSG_NOSIGNAL). Blocked, it stays pending on this
    // thread and dies with it; children are forked from other threads.
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
    // The TLS 1.3 session tickets are still unacknowledged when the first response goes
    // out: with Nagle it would wait for the client's delayed ACK (~40 ms per connection).
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ready = conn.tls_accept(tls_);
    if (!ready && !stop_.load()) ++handshake_failures_;
    if (ready && conn.resumed()) ++resumed_;
  }
  if (ready) {
    try {
      handler_(conn);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "ScriptedUpstream handler threw: " << e.what();
    }
  }
  if (stop_.load()) conn.drain();
  conn.close();
  std::lock_guard done(mu_);
  ++finished_;
  cv_.notify_all();
}

void ScriptedUpstream::stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_ = true;
  accept_thread_.join();
  for (auto& t : conn_threads_) t.join();  // no new ones: the accept thread is gone
  ::close(listen_fd_);
}

std::vector<Message> ScriptedUpstream::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool ScriptedUpstream::wait_for_requests(std::size_t n, Clock::duration timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

bool ScriptedUpstream::wait_for_finished(std::size_t n, Clock::duration timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return finished_.load() >= n; });
}

ScriptedUpstream::Handler ScriptedUpstream::reply_always(std::string response) {
  return [response = std::move(response)](ScriptedConn& c) {
    while (c.read_request()) {
      if (!c.send(response)) return;
    }
  };
}

std::string ok_response(std::string_view body, std::string_view extra_headers) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

// ---------------------------------------------------------------------------------------
// Pattern stream

namespace {

constexpr std::size_t kPeriod = 65521;  // prime: no alignment with any buffer size
constexpr std::size_t kMaxSlice = 256 * 1024;

const std::vector<char>& pattern_table() {
  static const std::vector<char> table = [] {
    std::vector<char> t(kPeriod + kMaxSlice);
    for (std::size_t i = 0; i < t.size(); ++i) {
      std::uint32_t k = static_cast<std::uint32_t>(i % kPeriod);
      t[i] = static_cast<char>((k * 2654435761u) >> 24);
    }
    return t;
  }();
  return table;
}

}  // namespace

void fill_pattern(std::uint64_t offset, char* out, std::size_t n) {
  const auto& t = pattern_table();
  while (n > 0) {
    std::size_t k = std::min(n, kMaxSlice);
    std::memcpy(out, t.data() + offset % kPeriod, k);
    out += k;
    offset += k;
    n -= k;
  }
}

bool matches_pattern(std::uint64_t offset, const char* data, std::size_t n) {
  const auto& t = pattern_table();
  while (n > 0) {
    std::size_t k = std::min(n, kMaxSlice);
    if (std::memcmp(data, t.data() + offset % kPeriod, k) != 0) return false;
    data += k;
    offset += k;
    n -= k;
  }
  return true;
}

}  // namespace it
