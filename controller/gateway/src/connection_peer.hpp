// The peer at the other end of a connection's descriptor: libzmq closes descriptors and gives
// their numbers to new connections on its own thread, so before the gateway acts on a number
// it checks the descriptor still leads to the peer it means.
#pragma once

#include <string>
#include <utility>

namespace loa::controller {

/// The peer of socket `fd` as "IP:port", and its IP; both empty when it has none (closed, not a
/// socket).
std::pair<std::string, std::string> peer_of(int fd);

/// Ends the connection on `fd` if it still leads to `peer` ("IP:port"): shut down, libzmq sees
/// its end and closes it as usual. False when the descriptor is another connection's by now.
bool cut_connection(int fd, const std::string& peer);

}  // namespace loa::controller
