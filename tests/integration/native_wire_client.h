// A tiny blocking client of comet's native protocol for process tests that need the bytes
// themselves: it sends frames exactly as given (a captured signed request sent again, on a new
// connection) from a chosen local address (127.0.0.2: another peer on loopback) and reads one
// response frame (wire_socket.h).
#pragma once

#include <chrono>
#include <string>

#include "integration/wire_socket.h"

namespace comet::testing {

class NativeWireClient : public WireSocket {
 public:
  // Sends `frame` as is and returns the next frame the server sends.
  Result<remoting::RemotingCommand> exchange(
      const std::string& frame, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (Status s = write_all(frame); !s.is_ok()) return s;
    return read_native(timeout);
  }
};

}  // namespace comet::testing
