#include "stats.hpp"

namespace lb::fault {

namespace {

constexpr ActionKind kFaults[] = {
    ActionKind::reset,    ActionKind::close,          ActionKind::hang,     ActionKind::garbage,
    ActionKind::truncate, ActionKind::reset_mid_body, ActionKind::bad_chunk};

bool is_fault(ActionKind kind) {
  for (auto k : kFaults) {
    if (k == kind) return true;
  }
  return false;
}

void bump(std::map<std::string, std::uint64_t, std::less<>>& counts, std::string_view key) {
  auto it = counts.find(key);
  if (it == counts.end()) it = counts.emplace(std::string(key), 0).first;
  ++it->second;
}

}  // namespace

std::uint64_t Stats::count_request(std::string_view method, std::string_view path) {
  bump(by_method_, method);
  bool known = by_path_.find(path) != by_path_.end();
  // A client walking /bytes/1, /bytes/2, ... must not grow the map without bound.
  bump(by_path_, known || by_path_.size() < kMaxPathKeys ? path : kOtherPaths);
  return ++requests_;
}

void Stats::count_fault(ActionKind kind) {
  if (is_fault(kind)) ++faults_[static_cast<std::size_t>(kind)];
}

void Stats::reset() {
  std::uint64_t open = connections_open_;
  *this = Stats();
  connections_open_ = open;
}

nlohmann::ordered_json Stats::to_json() const {
  auto fault = [&](ActionKind k) { return faults_[static_cast<std::size_t>(k)]; };
  nlohmann::ordered_json j;
  j["requests"] = requests_;
  j["by_path"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : by_path_) j["by_path"][k] = v;
  j["by_method"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : by_method_) j["by_method"][k] = v;
  j["by_status"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : by_status_) j["by_status"][std::to_string(k)] = v;
  auto& faults = j["faults"] = nlohmann::ordered_json::object();
  for (auto k : kFaults) faults[action_text({k, 0})] = fault(k);
  j["resets"] = fault(ActionKind::reset) + fault(ActionKind::reset_mid_body);
  j["closes"] = fault(ActionKind::close);
  j["hangs"] = fault(ActionKind::hang);
  j["bad_requests"] = bad_requests_;
  j["bytes_received"] = bytes_received_;
  j["bytes_sent"] = bytes_sent_;
  j["connections_open"] = connections_open_;
  j["connections_total"] = connections_total_;
  j["h2_connections_total"] = h2_connections_total_;
  j["h2_streams_total"] = h2_streams_total_;
  j["h2_streams_max_concurrent"] = h2_streams_max_concurrent_;
  j["h2_refused_streams"] = h2_refused_streams_;
  j["h2_resets_sent"] = h2_resets_sent_;
  j["h2_goaways_sent"] = h2_goaways_sent_;
  return j;
}

}  // namespace lb::fault
