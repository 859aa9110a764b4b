// S3Store's transfers alone, to set beside `aws s3 cp` (bench/s3_bench.py runs both in one run):
//
//   build/bench/s3_transfer_bench ENDPOINT BUCKET up|down KEY FILE
//
// `up` copies FILE to the object KEY (a multipart upload at the default settings: 8 MiB parts, 4 in flight),
// `down` copies the object to FILE (ranged GETs of 8 MiB, 4 at once), with no fsync — the same work as
// `aws s3 cp` either way. Keys come from the default chain (AWS_ACCESS_KEY_ID, ...); region us-east-1.
// Prints the seconds and MB/s.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "storage/s3_store.h"

int main(int argc, char** argv) {
  using namespace bakrest;
  if (argc != 6 || (std::string(argv[3]) != "up" && std::string(argv[3]) != "down")) {
    std::fprintf(stderr, "usage: %s ENDPOINT BUCKET up|down KEY FILE\n", argv[0]);
    return 2;
  }
  storage::S3Settings settings;
  settings.endpoint = argv[1];
  settings.bucket = argv[2];
  const bool up = std::string(argv[3]) == "up";
  const std::string key = argv[4];
  const std::string file = argv[5];
  try {
    storage::S3Store store(settings);
    std::vector<uint8_t> buffer(1 << 20);
    uint64_t bytes = 0;
    const auto started = std::chrono::steady_clock::now();
    if (up) {
      UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() < 0) throw std::runtime_error("cannot open " + file);
      auto writer = store.create(settings.bucket, key, storage::IfExists::kReplace, {});
      for (;;) {
        const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0) throw std::runtime_error("cannot read " + file);
        if (n == 0) break;
        writer->write(std::span(buffer.data(), static_cast<size_t>(n)));
        bytes += static_cast<uint64_t>(n);
      }
      writer->commit();
    } else {
      UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (fd.get() < 0) throw std::runtime_error("cannot create " + file);
      auto reader = store.open(settings.bucket, key, {}, {});
      for (;;) {
        const size_t n = reader->read(buffer);
        if (n == 0) break;
        for (size_t at = 0; at < n;) {
          const ssize_t w = ::write(fd.get(), buffer.data() + at, n - at);
          if (w <= 0) throw std::runtime_error("cannot write " + file);
          at += static_cast<size_t>(w);
        }
        bytes += n;
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("%s %llu bytes in %.2f s (%.0f MB/s)\n", up ? "up" : "down",
                static_cast<unsigned long long>(bytes), seconds, static_cast<double>(bytes) / 1e6 / seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
