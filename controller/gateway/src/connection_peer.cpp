// Telling which peer a descriptor leads to, and cutting a connection libzmq holds.
#include "connection_peer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/core.h>

namespace loa::controller {

std::pair<std::string, std::string> peer_of(int fd) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        return {};
    }
    char ip[INET6_ADDRSTRLEN] = {};
    int port = 0;
    if (address.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
        ::inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        port = ntohs(in->sin_port);
    } else if (address.ss_family == AF_INET6) {
        const auto* in = reinterpret_cast<const sockaddr_in6*>(&address);
        ::inet_ntop(AF_INET6, &in->sin6_addr, ip, sizeof(ip));
        port = ntohs(in->sin6_port);
    } else {
        return {};
    }
    return {fmt::format("{}:{}", ip, port), ip};
}

bool cut_connection(int fd, const std::string& peer) {
    if (peer.empty() || peer_of(fd).first != peer) {
        return false;
    }
    ::shutdown(fd, SHUT_RDWR);
    return true;
}

}  // namespace loa::controller
