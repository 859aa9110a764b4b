// The fixture of the tests that run T-SQL through sql::Session: a fresh instance in a temporary directory
// (msdb with the master login "admin", the engine, the local store, the task queue) and one session of that
// login, in master.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "collecting_sink.h"
#include "instance/logins.h"
#include "sql/session.h"
#include "storage/local_store.h"
#include "support/default_access.h"
#include "temp_dir.h"

namespace bakrest::sql {

class SessionFixture : public ::testing::Test {
 protected:
  SessionFixture() {
    instance::Logins(msdb).ensure_master(std::string("admin"), std::string("Master-Passw0rd"));
  }

  bakrest::testing::TempDir dir;
  instance::Msdb msdb{dir.path() / "msdb.db"};
  engine::Engine engine{dir.path() / "databases", msdb};
  storage::LocalStore store{dir.path() / "store"};
  tasks::TaskQueue queue{msdb};
  instance::Config config;
  bakrest::testing::DefaultAccess access{msdb, config};
  procs::Context context{engine, queue, store, msdb, config, access.option_groups, nullptr, nullptr};
  SessionEnvironment env{engine, context, "bakrest test", "test-instance"};
  Session session{env, "admin", 51, ""};

  // Runs a batch; what it sent back.
  bakrest::testing::CollectingSink run(const std::string& sql) {
    bakrest::testing::CollectingSink sink;
    session.run_batch(sql, sink);
    return sink;
  }
};

}  // namespace bakrest::sql
