// One attempt of one delivery: a POST with libcurl, or a command run with
// /bin/sh -c. Both are bounded by the timeout they are given and run on a
// delivering thread, which blocks SIGPIPE so that a receiver that hangs up
// costs an error, not the process.
#include "notify/notify.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <utility>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace kanari::notify {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t elapsed_ms(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::string seconds_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

// The end of what a receiver said, on one line, for the log.
std::string tail_line(const std::string& text, size_t max = 200) {
  std::string t = text.size() > max ? text.substr(text.size() - max) : text;
  for (char& c : t)
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  while (!t.empty() && t.back() == ' ')
    t.pop_back();
  return t;
}

// ---- URL hooks ----

struct CurlList {
  curl_slist* list = nullptr;
  ~CurlList() { curl_slist_free_all(list); }
  void add(const std::string& header) {
    if (auto* l = curl_slist_append(list, header.c_str()))
      list = l;
    else
      throw std::bad_alloc();
  }
};

size_t keep_response(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  const size_t bytes = size * n;
  if (out->size() < 4096)
    out->append(data, std::min(bytes, 4096 - out->size()));
  return bytes;
}

AttemptResult post(const store::HookRecord& h, const store::EventRecord& e, const std::string& body, const Settings& s,
                   std::chrono::milliseconds timeout) {
  AttemptResult r;
  r.receiver_down = true; // until it answers
  CurlList headers;
  headers.add("Content-Type: application/json");
  headers.add("Kanari-Event: " + e.hash);
  headers.add("Kanari-Action: " + e.action);
  headers.add("Expect:"); // no 100-continue round trip
  if (h.secret_env) {
    auto secret = s.getenv ? s.getenv(*h.secret_env) : std::nullopt;
    if (!secret || secret->empty()) {
      r.detail = "not sent: the secret's variable " + *h.secret_env + " is not set in this environment";
      return r;
    }
    headers.add("Kanari-Signature: " + signature(*secret, body));
  }
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    r.detail = "libcurl: cannot create a handle";
    return r;
  }
  std::string response;
  const std::string agent = "kanari/" + s.kanari_version;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, h.url->c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(c, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_response);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  const auto start = Clock::now();
  const CURLcode rc = curl_easy_perform(c);
  r.duration_ms = elapsed_ms(start);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    r.detail = "timed out after " + seconds_text(timeout);
    return r;
  }
  if (rc != CURLE_OK) {
    r.detail = std::string("not delivered: ") + curl_easy_strerror(rc);
    return r;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  r.ok = status >= 200 && status < 300;
  r.receiver_down = status >= 500 || status == 408 || status == 429;
  r.detail = "HTTP " + std::to_string(status);
  if (!r.ok && !response.empty())
    r.detail += ": " + tail_line(response);
  return r;
}

// ---- Command hooks ----

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
};

// Both ends at descriptors 3 and up, so that the child's dup2 onto 0, 1
// and 2 never overwrites one of them (kanari may start with 0-2 closed).
bool make_pipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return false;
  Fd a(fds[0]), b(fds[1]);
  read_end.fd = a.fd >= 3 ? std::exchange(a.fd, -1) : ::fcntl(a.fd, F_DUPFD_CLOEXEC, 3);
  write_end.fd = b.fd >= 3 ? std::exchange(b.fd, -1) : ::fcntl(b.fd, F_DUPFD_CLOEXEC, 3);
  return read_end.fd >= 0 && write_end.fd >= 0;
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with status " + std::to_string(status);
}

AttemptResult run_command(const store::HookRecord& h, const store::EventRecord& e, const std::string& body,
                          std::chrono::milliseconds timeout) {
  AttemptResult r;
  r.receiver_down = true; // until it has run
  Fd in_read, in_write, out_read, out_write;
  if (!make_pipe(in_read, in_write) || !make_pipe(out_read, out_write)) {
    r.detail = std::string("cannot make a pipe: ") + std::strerror(errno);
    return r;
  }
  // The environment: the process's own, with the event's three variables.
  std::vector<std::string> env_strings = {"KANARI_EVENT=" + e.hash, "KANARI_ACTION=" + e.action,
                                          "KANARI_TRACK=" + e.track};
  std::vector<char*> envp;
  for (char** v = environ; v && *v; ++v)
    if (std::strncmp(*v, "KANARI_EVENT=", 13) != 0 && std::strncmp(*v, "KANARI_ACTION=", 14) != 0 &&
        std::strncmp(*v, "KANARI_TRACK=", 13) != 0)
      envp.push_back(*v);
  for (auto& v : env_strings)
    envp.push_back(v.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, in_read.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, 2);
  // Its own process group, so the timeout kills what it started too; the
  // default signal mask and a default SIGPIPE, whatever this thread has.
  sigset_t none, pipe;
  sigemptyset(&none);
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string sh = "sh", dash_c = "-c", cmd = *h.command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = 0;
  const auto start = Clock::now();
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    r.detail = std::string("cannot run /bin/sh: ") + std::strerror(rc);
    return r;
  }
  in_read.reset();
  out_write.reset();
  ::fcntl(in_write.fd, F_SETFL, O_NONBLOCK);
  ::fcntl(out_read.fd, F_SETFL, O_NONBLOCK);

  const auto deadline = start + timeout;
  size_t written = 0;
  std::string output;
  int status = 0;
  bool exited = false;
  if (body.empty())
    in_write.reset();
  while (!exited) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0)
      break;
    pollfd fds[2];
    nfds_t n = 0;
    if (in_write.fd >= 0)
      fds[n++] = {in_write.fd, POLLOUT, 0};
    if (out_read.fd >= 0)
      fds[n++] = {out_read.fd, POLLIN, 0};
    // The child's exit is not a descriptor event: look again at least
    // every 20 ms.
    ::poll(fds, n, static_cast<int>(std::min<std::int64_t>(left, 20)));
    if (in_write.fd >= 0) {
      const ssize_t w = ::write(in_write.fd, body.data() + written, body.size() - written);
      if (w > 0)
        written += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == body.size())
        in_write.reset(); // done, or it stopped reading (EPIPE): either way, end of input
    }
    if (out_read.fd >= 0) {
      char buf[4096];
      const ssize_t got = ::read(out_read.fd, buf, sizeof buf);
      if (got > 0) {
        output.append(buf, static_cast<size_t>(got));
        if (output.size() > 8192)
          output.erase(0, output.size() - 4096);
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        out_read.reset();
      }
    }
  }
  if (!exited) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    r.duration_ms = elapsed_ms(start);
    r.detail = "killed after " + seconds_text(timeout);
    return r;
  }
  // What it wrote just before it ended (what it left running in the
  // background, holding the pipe open, is not waited for).
  while (out_read.fd >= 0) {
    char buf[4096];
    const ssize_t got = ::read(out_read.fd, buf, sizeof buf);
    if (got <= 0)
      break;
    output.append(buf, static_cast<size_t>(got));
    if (output.size() > 8192)
      output.erase(0, output.size() - 4096);
  }
  r.duration_ms = elapsed_ms(start);
  r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  r.receiver_down = false; // it ran: its exit status is about this event
  r.detail = describe_status(status);
  if (!r.ok && !output.empty())
    r.detail += ": " + tail_line(output);
  return r;
}

} // namespace

AttemptResult attempt(const store::HookRecord& h, const store::EventRecord& e, const Settings& s,
                      std::chrono::milliseconds timeout) {
  try {
    const std::string body = request_body(h, e, s);
    return h.url ? post(h, e, body, s, timeout) : run_command(h, e, body, timeout);
  } catch (const std::exception& ex) {
    return {false, std::string("not delivered: ") + ex.what(), 0, true};
  }
}

void init_transports() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

} // namespace kanari::notify
