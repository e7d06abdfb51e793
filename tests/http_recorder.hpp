// A real HTTP server on 127.0.0.1 for the hook tests (docs/testing.md): it
// listens on a port of its own, records every request, and answers each as
// planned: a status (200 unless told), hanging until released, or closing
// the connection without a word.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kanari::test {

class HttpRecorder {
public:
  struct Request {
    std::string method, target;
    std::map<std::string, std::string> headers; // names in lowercase
    std::string body;
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };
  enum class Mode { status, hang, close };
  struct Answer {
    Mode mode = Mode::status;
    int status = 200;
  };

  HttpRecorder();
  ~HttpRecorder();
  HttpRecorder(const HttpRecorder&) = delete;
  HttpRecorder& operator=(const HttpRecorder&) = delete;

  std::string url(const std::string& path = "/hook") const;
  // The answers to the next requests, in order; after them, `otherwise`.
  void plan(std::vector<Answer> answers, Answer otherwise);
  void plan(std::vector<Answer> answers); // then 200
  std::vector<Request> requests() const;
  // Waits until at least n requests have arrived; false on timeout.
  bool wait_for(size_t n, std::chrono::milliseconds timeout) const;
  // Ends every hanging request (they are answered 200).
  void release();

private:
  void serve();
  void handle(int fd);
  Answer next_answer();

  int m_listen = -1;
  int m_port = 0;
  int m_stop[2] = {-1, -1};
  std::thread m_thread;
  std::vector<std::thread> m_connections;
  mutable std::mutex m_mutex;
  mutable std::condition_variable m_changed;
  std::vector<Request> m_requests;
  std::deque<Answer> m_plan;
  Answer m_otherwise;
  bool m_released = false;
};

} // namespace kanari::test
