// `bakrest serve`: opens (or creates) an instance's data directory and serves TDS, and the control endpoint
// the AWS CLI talks to, until SIGINT/SIGTERM.
#pragma once

#include <string>

namespace bakrest::cli {

struct ServeOptions {
  std::string data_dir;
  int port = -1;                   // -1: the port in instance.toml; 0: any free port
  int control_port = -1;           // the control endpoint's, likewise
  std::string config_file;         // empty: <data>/instance.toml
  std::string log_level = "info";  // trace, debug, info, warn, error (debug logs every batch's start)
};

// Returns the process exit code.
int serve(const ServeOptions& options);

}  // namespace bakrest::cli
