#include "cli/serve.h"

#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "common/ids.h"
#include "control/access_keys.h"
#include "control/endpoint.h"
#include "crypto/keyring.h"
#include "crypto/kms_client.h"
#include "crypto/local_kms.h"
#include "engine/engine.h"
#include "iam/role_store.h"
#include "instance/config.h"
#include "instance/data_dir.h"
#include "instance/logins.h"
#include "instance/msdb.h"
#include "instance/tls_certificate.h"
#include "procs/procedures.h"
#include "rds/first_start.h"
#include "rds/option_groups.h"
#include "server/backend.h"
#include "server/listener.h"
#include "server/tls.h"
#include "sql/session.h"
#include "storage/bucket_router.h"
#include "storage/local_store.h"
#include "storage/s3_store.h"
#include "tasks/task_queue.h"

namespace bakrest::cli {

namespace {

std::optional<std::string> env_var(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::optional<std::string>(value) : std::nullopt;
}

class SessionHandler : public server::RequestHandler {
 public:
  SessionHandler(sql::SessionEnvironment& env, const server::LoginRequest& request, int spid)
      : session_(env, request.user, spid, request.database,
                 sql::SessionClient{request.host_name, request.app_name, request.connection}) {}
  void run_batch(std::string_view sql, ResultSink& sink) override { session_.run_batch(sql, sink); }
  void run_rpc(const ProcCall& call, ResultSink& sink) override { session_.run_rpc(call, sink); }
  void bulk_load(BulkRows& rows, ResultSink& sink) override { session_.bulk_load(rows, sink); }
  void interrupt() override { session_.interrupt(); }
  std::string current_database() const override { return session_.current_database(); }
  int open_transactions() const override { return session_.open_transactions(); }
  void reset(bool keep_transaction) override { session_.reset(keep_transaction); }

 private:
  sql::Session session_;
};

class InstanceBackend : public server::Backend {
 public:
  InstanceBackend(instance::Logins& logins, sql::SessionEnvironment& env) : logins_(logins), env_(env) {}
  std::unique_ptr<server::RequestHandler> login(const server::LoginRequest& request, int spid) override {
    if (!logins_.verify(request.user, request.password)) {
      spdlog::warn("login failed for user '{}' from {}", request.user, request.host_name);
      throw SqlError(18456, 14, "Login failed for user '" + request.user + "'.", 1);
    }
    return std::make_unique<SessionHandler>(env_, request, spid);
  }

 private:
  instance::Logins& logins_;
  sql::SessionEnvironment& env_;
};

instance::Config load_or_create_config(const std::filesystem::path& file) {
  if (std::filesystem::exists(file)) return instance::load_config(file);
  instance::Config config;
  config.instance_id = "bakrest-" + random_hex(4);
  instance::save_config(config, file);
  spdlog::info("wrote the default configuration to {}", file.string());
  return config;
}

// At the first start, makes the instance's option group (and the default role) in msdb from instance.toml's
// [option_group], or from the defaults without one, and takes the section out of the file: from then on msdb
// keeps the option group and the aws CLI changes it (docs/OPERATIONS.md, "The option group").
void seed_option_group(const std::filesystem::path& config_file, const instance::Config& config,
                       iam::RoleStore& roles, rds::OptionGroups& groups) {
  if (config.option_group_seed && groups.seeded()) {
    throw std::runtime_error(
        config_file.string() +
        ": [option_group] sets up a new instance only, and this instance has its option "
        "group '" +
        groups.instance_group() +
        "' already; change it with the aws CLI (aws rds "
        "add-option-to-option-group, modify-db-instance; docs/OPERATIONS.md) and remove the section");
  }
  if (!rds::seed_option_group(roles, groups, config.option_group_seed, std::time(nullptr))) return;
  auto role = groups.backup_restore_role();
  spdlog::info("made the option group '{}' ({}), the instance a member", groups.instance_group(),
               role ? "SQLSERVER_BACKUP_RESTORE with the role " + *role : "without SQLSERVER_BACKUP_RESTORE");
  if (config.option_group_seed) {
    // The file as it is, not as the command line changed it.
    instance::Config on_disk = instance::load_config(config_file);
    on_disk.option_group_seed.reset();
    instance::save_config(on_disk, config_file);
    spdlog::info("moved [option_group] from {} into msdb", config_file.string());
  }
}

}  // namespace

int serve(const ServeOptions& options) {
  // Signals are taken by a dedicated thread with sigwait, so block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Everything the server creates is private to its user (docs/OPERATIONS.md), also what SQLite creates.
  ::umask(077);
  // Buffers of a megabyte or more (large requests, mostly) are mapped on their own and go back to the
  // system when freed. By default glibc raises that threshold as such buffers are freed, and then keeps
  // what a growing request buffer left behind in each session thread's arena: eight large requests in turn
  // left the server holding hundreds of MiB it no longer used.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  ::signal(SIGPIPE, SIG_IGN);
  // Standard output carries only the start-up lines tools read; logs go to standard error.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bakrest"));
  spdlog::set_level(spdlog::level::from_str(options.log_level));

  try {
    instance::DataDir data(options.data_dir);
    std::filesystem::path config_file =
        options.config_file.empty() ? data.config_file() : std::filesystem::path(options.config_file);
    instance::Config config = load_or_create_config(config_file);
    if (options.port >= 0) config.port = options.port;
    if (options.control_port >= 0) config.control_port = options.control_port;

    instance::Msdb msdb(data.msdb_file());
    instance::Logins logins(msdb);
    auto generated = logins.ensure_master(env_var("BAKREST_MASTER_USER"), env_var("BAKREST_MASTER_PASSWORD"));
    crypto::Keyring keyring(data.keyring_dir());
    crypto::LocalKms kms(keyring, config.region, config.account);
    control::AccessKeys access_keys(msdb, keyring);
    iam::RoleStore roles(msdb, config.account);
    rds::OptionGroups option_groups(msdb, roles, rds::identity_of(config),
                                    config.aws ? config.aws->account : std::string());
    seed_option_group(config_file, config, roles, option_groups);
    auto issued_key = access_keys.ensure_master(logins.master_name(), env_var("BAKREST_MASTER_ACCESS_KEY_ID"),
                                                env_var("BAKREST_MASTER_SECRET_ACCESS_KEY"));

    storage::LocalStore local_store(data.store_dir());
    storage::BucketRouter store(local_store);
    for (const auto& bucket : config.buckets) {
      if (bucket.s3) {
        // S3 buckets are the user's: never created here, and not looked at before a task needs them (an
        // endpoint that is down at start must not keep the instance from serving its databases).
        auto s3 = std::make_unique<storage::S3Store>(*bucket.s3);
        spdlog::info("bucket '{}' is on S3 at {} (region {})", bucket.name, s3->endpoint(bucket.name),
                     bucket.region);
        store.route(bucket.name, std::move(s3));
      } else if (!local_store.bucket_region(bucket.name)) {
        local_store.create_bucket(bucket.name, bucket.region);
      }
    }
    engine::Engine engine(data.databases_dir(), msdb);
    tasks::TaskQueue queue(msdb);
    // Encrypted backups use the instance's KMS, or another instance's ([kms] endpoint).
    std::optional<crypto::KmsClient> remote_kms;
    if (!config.kms_endpoint.empty()) {
      remote_kms.emplace(crypto::KmsClientSettings{
          config.kms_endpoint, config.kms_region.empty() ? config.region : config.kms_region,
          storage::fixed_credentials({config.kms_access_key_id, config.kms_secret_access_key, ""},
                                     "[kms] in instance.toml")});
      spdlog::info("encrypted backups use the KMS at {}", config.kms_endpoint);
    }
    // Roles of the AWS account in [aws]: assumed through STS with the instance's own credentials.
    std::optional<iam::AwsRoles> aws_roles;
    if (const auto& aws = config.aws) {
      std::shared_ptr<storage::CredentialProvider> caller =
          storage::default_credential_chain(aws->credentials, storage::http::Options{});
      aws_roles.emplace(iam::AwsRolesSettings{aws->region_or(config.region), aws->sts_endpoint,
                                              aws->kms_endpoint, "bakrest-" + config.instance_id, caller});
      spdlog::info(
          "roles of AWS account {} are assumed through {} with credentials from {}; their keys are at {}",
          aws->account, aws_roles->sts_endpoint(), caller->source(), aws_roles->kms_endpoint());
    }
    procs::Context context{engine,
                           queue,
                           store,
                           msdb,
                           config,
                           option_groups,
                           remote_kms ? static_cast<crypto::KeyService*>(&*remote_kms) : &kms,
                           remote_kms ? nullptr : &kms,
                           aws_roles ? &*aws_roles : nullptr};
    procs::install_task_runners(context, config.max_transfer_mb_per_sec * 1048576.0);
    queue.start();

    const ProductVersion product = config.product();
    sql::SessionEnvironment session_env{engine, context,
                                        product.version_text(BAKREST_VERSION, sqlite3_libversion()),
                                        config.instance_id, product};
    InstanceBackend backend(logins, session_env);
    instance::TlsFiles tls_files = instance::ensure_tls_files(config, data, instance::local_host_name());
    server::TlsContext tls(tls_files.certificate, tls_files.key);
    if (tls_files.generated) {
      spdlog::info("made a self-signed TLS certificate {} (key {})", tls_files.certificate.string(),
                   tls_files.key.string());
    }
    server::ListenerOptions listen;
    listen.host = config.listen_host;
    listen.port = config.port;
    listen.server_name = config.instance_id;
    listen.product = product;
    listen.max_connections = config.max_connections;
    listen.max_request_bytes = static_cast<uint64_t>(config.max_request_mb) << 20;
    listen.max_buffered_request_bytes = static_cast<uint64_t>(config.max_buffered_request_mb) << 20;
    listen.login_timeout = std::chrono::seconds(config.login_timeout_seconds);
    listen.encryption = server::EncryptionPolicy{&tls, config.force_encryption};
    server::Listener listener(backend, listen);
    std::optional<control::ControlEndpoint> control_endpoint;
    if (config.control_enabled) {
      control_endpoint.emplace(
          control::EndpointOptions{config.control_host, config.control_port, config.region, config.account,
                                   config.control_tls ? tls_files.certificate.string() : "",
                                   config.control_tls ? tls_files.key.string() : ""},
          access_keys, kms, roles, option_groups,
          control::DbInstanceFacts{config.engine_version, logins.master_name(), config.listen_host,
                                   listener.port(), config.time_zone});
    }

    std::string user = logins.master_name();
    std::printf("bakrest %s: instance %s listening on %s:%d (data directory %s)\n", BAKREST_VERSION,
                config.instance_id.c_str(), config.listen_host.c_str(), listener.port(), data.root().c_str());
    if (generated) {
      std::printf(
          "master login created: user '%s', password '%s' (shown only this once; it is stored hashed)\n",
          user.c_str(), generated->c_str());
    }
    std::printf("connect: tsql -H %s -p %d -U %s -P <password>\n", config.listen_host.c_str(),
                listener.port(), user.c_str());
    if (control_endpoint) {
      std::printf("control endpoint for the AWS CLI: --endpoint-url %s (region %s)\n",
                  control_endpoint->url().c_str(), config.region.c_str());
    }
    if (issued_key) {
      std::printf(
          "access key for the AWS CLI: AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s (shown only this once; "
          "it "
          "is stored sealed)\n",
          issued_key->access_key_id.c_str(), issued_key->secret_access_key.c_str());
    }
    std::printf("TLS certificate %s, SHA-256 fingerprint %s%s\n", tls.certificate_file().c_str(),
                tls.fingerprint().c_str(), config.force_encryption ? " (encryption required)" : "");
    std::fflush(stdout);

    std::thread signal_thread([&] {
      int received = 0;
      sigwait(&signals, &received);
      spdlog::info("signal {} received, shutting down", received);
      listener.stop();
    });
    listener.run();
    // run() also returns when the listener fails; wake the signal thread so it can be joined.
    pthread_kill(signal_thread.native_handle(), SIGTERM);
    signal_thread.join();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bakrest: %s\n", e.what());
    return 1;
  }
}

}  // namespace bakrest::cli
