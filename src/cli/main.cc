// The bakrest command.
#include <CLI/CLI.hpp>

#include "cli/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"bakrest: SQL Server-compatible native backup and restore to object storage"};
  app.set_version_flag("--version", std::string("bakrest ") + BAKREST_VERSION);
  app.require_subcommand(1);

  bakrest::cli::ServeOptions serve;
  CLI::App* serve_cmd = app.add_subcommand("serve", "Run an instance on a data directory");
  serve_cmd->add_option("--data", serve.data_dir, "Data directory (created on first start)")->required();
  serve_cmd->add_option("--port", serve.port, "TCP port (default: instance.toml, 1433; 0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  serve_cmd
      ->add_option("--control-port", serve.control_port,
                   "The control endpoint's TCP port (default: instance.toml, 14330; 0 picks a free port)")
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_option("--config", serve.config_file, "Configuration file (default: <data>/instance.toml)");
  serve_cmd
      ->add_option("--log-level", serve.log_level,
                   "Log level: trace, debug, info, warn, error (default: info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  CLI11_PARSE(app, argc, argv);
  if (serve_cmd->parsed()) return bakrest::cli::serve(serve);
  return 0;
}
