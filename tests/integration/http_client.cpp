#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace sup::it {

nlohmann::json HttpReply::json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string HttpReply::describe() const {
  std::string out = "status " + std::to_string(status);
  if (!error.empty()) out += " (" + error + ")";
  for (const auto& [name, value] : headers) out += "\n" + name + ": " + value;
  return out + "\n\n" + body;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

HttpReply http_raw(std::uint16_t port, std::string_view raw, std::chrono::milliseconds timeout) {
  HttpReply reply;
  int fd = connect_loopback(port);
  if (fd < 0) {
    reply.error = std::string("connect: ") + std::strerror(errno);
    return reply;
  }
  std::size_t sent = 0;
  while (sent < raw.size()) {
    ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) before taking it all
    sent += static_cast<std::size_t>(n);
  }
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      reply.error = "timed out";
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[16384];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0) {
      reply.error = std::string("recv: ") + std::strerror(errno);
      break;
    }
    if (n == 0) {
      reply.closed_by_peer = true;
      break;
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  std::size_t head_end = text.find("\r\n\r\n");
  if (head_end == std::string::npos || text.rfind("HTTP/1.1 ", 0) != 0) {
    if (reply.error.empty()) reply.error = text.empty() ? "no response" : "not HTTP: " + text;
    return reply;
  }
  reply.status = std::atoi(text.c_str() + 9);
  std::size_t at = text.find("\r\n") + 2;
  while (at < head_end) {
    std::size_t end = text.find("\r\n", at);
    std::string line = text.substr(at, end - at);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::size_t value = line.find_first_not_of(' ', colon + 1);
      reply.headers[name] = value == std::string::npos ? "" : line.substr(value);
    }
    at = end + 2;
  }
  reply.body = text.substr(head_end + 4);
  return reply;
}

HttpReply http_request(std::uint16_t port, std::string_view method, std::string_view target,
                       std::string_view body, const std::map<std::string, std::string>& headers,
                       std::chrono::milliseconds timeout) {
  std::string raw = std::string(method) + " " + std::string(target) +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) raw += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST")
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "\r\n";
  raw += body;
  return http_raw(port, raw, timeout);
}

}  // namespace sup::it
