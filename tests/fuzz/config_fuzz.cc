// The instance configuration: load_config() on a fuzzed instance.toml. A file that loads must save and load
// again to the same configuration.
#include <stdexcept>

#include "fuzz_support.h"
#include "instance/config.h"

using namespace bakrest;

namespace {

bool same(const instance::Config& a, const instance::Config& b) {
  auto buckets_equal = [](const instance::BucketConfig& x, const instance::BucketConfig& y) {
    if (x.name != y.name || x.region != y.region || x.s3.has_value() != y.s3.has_value()) return false;
    if (!x.s3) return true;
    const storage::S3Settings& s = *x.s3;
    const storage::S3Settings& t = *y.s3;
    return s.bucket == t.bucket && s.region == t.region && s.endpoint == t.endpoint &&
           s.virtual_addressing == t.virtual_addressing && s.conditional_writes == t.conditional_writes &&
           s.http.verify_tls == t.http.verify_tls && s.http.ca_file == t.http.ca_file &&
           s.http.connect_timeout_ms == t.http.connect_timeout_ms &&
           s.http.low_speed_seconds == t.http.low_speed_seconds &&
           s.credentials.access_key_id == t.credentials.access_key_id &&
           s.credentials.secret_access_key == t.credentials.secret_access_key &&
           s.credentials.secret_file == t.credentials.secret_file &&
           s.credentials.session_token == t.credentials.session_token &&
           s.credentials.profile == t.credentials.profile && s.part_size_mb == t.part_size_mb &&
           s.parts_per_size == t.parts_per_size && s.parts_in_flight == t.parts_in_flight &&
           s.max_buffer_mb == t.max_buffer_mb && s.read_chunk_mb == t.read_chunk_mb &&
           s.max_attempts == t.max_attempts && s.retry_seconds == t.retry_seconds;
  };
  return a.instance_id == b.instance_id && a.region == b.region && a.account == b.account &&
         a.edition == b.edition && a.time_zone == b.time_zone && a.listen_host == b.listen_host &&
         a.port == b.port && a.option_group_seed.has_value() == b.option_group_seed.has_value() &&
         (!a.option_group_seed || (a.option_group_seed->name == b.option_group_seed->name &&
                                   a.option_group_seed->options == b.option_group_seed->options &&
                                   a.option_group_seed->iam_role_arn == b.option_group_seed->iam_role_arn)) &&
         a.max_transfer_mb_per_sec == b.max_transfer_mb_per_sec && a.max_database_gb == b.max_database_gb &&
         a.max_connections == b.max_connections && a.max_request_mb == b.max_request_mb &&
         a.max_buffered_request_mb == b.max_buffered_request_mb &&
         a.login_timeout_seconds == b.login_timeout_seconds && a.control_enabled == b.control_enabled &&
         a.control_host == b.control_host && a.control_port == b.control_port &&
         a.control_tls == b.control_tls && a.kms_endpoint == b.kms_endpoint && a.kms_region == b.kms_region &&
         a.kms_access_key_id == b.kms_access_key_id && a.kms_secret_access_key == b.kms_secret_access_key &&
         std::equal(a.buckets.begin(), a.buckets.end(), b.buckets.begin(), b.buckets.end(), buckets_equal);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = fuzz::ScratchDir::path();
  auto file = dir / "instance.toml";
  fuzz::write_file(file, {data, size});
  instance::Config config;
  try {
    config = instance::load_config(file);
  } catch (const std::runtime_error&) {
    return 0;
  }
  auto saved = dir / "saved.toml";
  instance::save_config(config, saved);
  instance::Config again = instance::load_config(saved);
  fuzz::check(same(config, again), "a loaded configuration saves and loads to itself");
  return 0;
}
