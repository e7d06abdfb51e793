#include "http_recorder.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace kanari::test {

HttpRecorder::HttpRecorder() {
  m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (m_listen < 0 || ::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(m_listen, 64) != 0 || ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::pipe2(m_stop, O_CLOEXEC) != 0)
    throw std::runtime_error("HttpRecorder: cannot listen on 127.0.0.1");
  m_port = ntohs(addr.sin_port);
  m_thread = std::thread([this] { serve(); });
}

HttpRecorder::~HttpRecorder() {
  release();
  [[maybe_unused]] auto n = ::write(m_stop[1], "x", 1);
  m_thread.join();
  for (auto& t : m_connections)
    t.join();
  ::close(m_listen);
  ::close(m_stop[0]);
  ::close(m_stop[1]);
}

std::string HttpRecorder::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(m_port) + path;
}

void HttpRecorder::plan(std::vector<Answer> answers, Answer otherwise) {
  std::lock_guard lock(m_mutex);
  m_plan.assign(answers.begin(), answers.end());
  m_otherwise = otherwise;
}

void HttpRecorder::plan(std::vector<Answer> answers) { plan(std::move(answers), Answer{Mode::status, 200}); }

std::vector<HttpRecorder::Request> HttpRecorder::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

bool HttpRecorder::wait_for(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_mutex);
  return m_changed.wait_for(lock, timeout, [&] { return m_requests.size() >= n; });
}

void HttpRecorder::release() {
  std::lock_guard lock(m_mutex);
  m_released = true;
  m_changed.notify_all();
}

HttpRecorder::Answer HttpRecorder::next_answer() {
  if (m_plan.empty())
    return m_otherwise;
  Answer a = m_plan.front();
  m_plan.pop_front();
  return a;
}

void HttpRecorder::serve() {
  for (;;) {
    pollfd fds[2] = {{m_listen, POLLIN, 0}, {m_stop[0], POLLIN, 0}};
    ::poll(fds, 2, -1);
    if (fds[1].revents)
      return;
    const int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0)
      m_connections.emplace_back([this, fd] { handle(fd); });
  }
}

namespace {

std::string lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    off += static_cast<size_t>(n);
  }
}

} // namespace

// One request per connection (kanari sends one), read whole before it is
// recorded and answered.
void HttpRecorder::handle(int fd) {
  std::string data;
  char buf[4096];
  size_t header_end = std::string::npos;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(fd);
      return;
    }
    data.append(buf, static_cast<size_t>(n));
  }
  Request req;
  const std::string head = data.substr(0, header_end);
  size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  req.method = request_line.substr(0, request_line.find(' '));
  req.target = request_line.substr(req.method.size() + 1, request_line.rfind(' ') - req.method.size() - 1);
  while (line_end != std::string::npos && line_end < head.size()) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    req.headers[lower(line.substr(0, colon))] = value;
  }
  const size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
  req.body = data.substr(header_end + 4);
  while (req.body.size() < length) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    req.body.append(buf, static_cast<size_t>(n));
  }
  Answer answer;
  {
    std::unique_lock lock(m_mutex);
    answer = next_answer();
    m_requests.push_back(std::move(req));
    m_changed.notify_all();
    if (answer.mode == Mode::hang) {
      m_changed.wait(lock, [&] { return m_released; });
      answer = {Mode::status, 200};
    }
  }
  if (answer.mode == Mode::status) {
    const std::string body = answer.status / 100 == 2 ? "ok" : "receiver says no";
    send_all(fd, "HTTP/1.1 " + std::to_string(answer.status) + " X\r\nContent-Type: text/plain\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  }
  ::close(fd);
}

} // namespace kanari::test
