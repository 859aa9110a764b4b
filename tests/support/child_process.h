// A helper process a test starts and ends: the S3 test server, the fault proxy, an instance-metadata
// responder (tests/support/*.py). The child's standard output is read for the line it prints when it is
// ready; its standard error goes to the test's. The destructor ends the child by its pid (SIGTERM, then
// SIGKILL if it has not exited within five seconds) and reaps it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace bakrest::testing {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with argv. Throws std::runtime_error if it cannot be started.
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads standard output until a line that starts with prefix and returns that line; throws
  // std::runtime_error if the child exits or timeout passes first.
  std::string wait_for_line(const std::string& prefix,
                            std::chrono::seconds timeout = std::chrono::seconds(30));
  // Ends the child at once with SIGKILL and reaps it (a crash, for restart tests).
  void kill_now();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
};

// The port of a "... listening on 127.0.0.1:PORT ..." line.
int port_in(const std::string& line);

}  // namespace bakrest::testing
