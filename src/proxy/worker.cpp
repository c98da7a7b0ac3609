#include "lb/proxy/worker.hpp"

#include <random>

namespace lb::proxy {

Worker::Worker(asio::io_context& io_ctx, std::shared_ptr<const config::Config> cfg,
               std::vector<std::vector<asio::ip::tcp::endpoint>> eps)
    : io(io_ctx),
      config(std::move(cfg)),
      endpoints(std::move(eps)),
      strategy(balancer::make_strategy(config->strategy, config->backends.size(),
                                       std::random_device{}())),
      pool(config->backends.size(), config->limits.max_idle_per_backend, config->timeouts.idle) {
  backends.reserve(config->backends.size());
  for (std::size_t i = 0; i < config->backends.size(); ++i) {
    backends.emplace_back(i, config->backends[i]);
    authorities.push_back(config->backends[i].authority());
  }
}

}  // namespace lb::proxy
