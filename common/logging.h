// One spdlog logger per module ("commitlog", "broker", ...), created on first use.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace comet {

std::shared_ptr<spdlog::logger> logger(const std::string& module);
// Sets the level of every comet logger ("trace" .. "off"); COMET_LOG_LEVEL sets the default.
void set_log_level(const std::string& level);

}  // namespace comet
