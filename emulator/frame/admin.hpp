#pragma once

#include <memory>
#include <vector>

#include "emulator/frame/faults.hpp"
#include "emulator/frame/mode.hpp"
#include "emulator/frame/request_log.hpp"
#include "emulator/frame/router.hpp"

/// @file
/// The admin routes that belong to no mode: request log, faults and stats.

namespace chatsync::emulator {

/// Adds GET /_admin/requests (optional `from=<index>`), POST /_admin/requests/clear,
/// GET /_admin/stats, GET|POST|DELETE /_admin/faults and POST /_admin/faults/clear.
/// The references must outlive the router.
void AddAdminRoutes(
    Router& router,
    RequestLog& log,
    FaultList& faults,
    const std::vector<std::unique_ptr<Mode>>& modes
);

/// True for paths under /_admin: these are never faulted, logged or authenticated.
bool IsAdminPath(std::string_view path);

}  // namespace chatsync::emulator
