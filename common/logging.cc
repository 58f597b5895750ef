#include "common/logging.h"

#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace comet {
namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

// The level every comet logger gets, including loggers made after set_log_level().
spdlog::level::level_enum& current_level() {
  static spdlog::level::level_enum level = [] {
    const char* env = std::getenv("COMET_LOG_LEVEL");
    return env ? spdlog::level::from_str(env) : spdlog::level::info;
  }();
  return level;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& module) {
  std::lock_guard lock(registry_mutex());
  if (auto existing = spdlog::get(module)) return existing;
  auto l = spdlog::stderr_color_mt(module);
  l->set_level(current_level());
  l->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ [%n] %v");
  return l;
}

void set_log_level(const std::string& level) {
  std::lock_guard lock(registry_mutex());
  auto lvl = spdlog::level::from_str(level);
  current_level() = lvl;
  spdlog::apply_all([lvl](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
  spdlog::set_level(lvl);
}

}  // namespace comet
