// The instance's live sessions, as sys.dm_exec_sessions and sys.dm_exec_connections show them. Each session
// keeps its row up to date; readers get copies. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/connection_info.h"

namespace bakrest::catalog {

struct SessionRow {
  int spid = 0;
  std::string login_name;
  std::string host_name;
  std::string program_name;
  ConnectionInfo connection;
  int64_t login_time_micros = 0;
  std::string status = "sleeping";  // "running" while a request runs
  int64_t database_id = 0;
  int64_t last_request_start_micros = 0;
  int64_t last_request_end_micros = 0;
  int64_t row_count = 0;   // @@ROWCOUNT after the last statement
  int32_t prev_error = 0;  // @@ERROR after the last statement
  int open_transaction_count = 0;
  int64_t text_size = -1;  // SET TEXTSIZE; -1: whole values
  int lock_timeout_ms = -1;
  int transaction_isolation_level = 2;  // SET TRANSACTION ISOLATION LEVEL: 1 READ UNCOMMITTED ... 5 SNAPSHOT
};

class SessionDirectory {
 public:
  // A session's place in the directory: its row is there while this lives.
  class Registration {
   public:
    Registration(SessionDirectory& directory, SessionRow row);
    ~Registration();
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;

    // Changes the session's row under the directory's lock; keep fn short.
    void update(const std::function<void(SessionRow&)>& fn);

   private:
    SessionDirectory& directory_;
    int spid_;
  };

  std::vector<SessionRow> list() const;  // by SPID

 private:
  mutable std::mutex mutex_;
  std::map<int, SessionRow> rows_;
};

}  // namespace bakrest::catalog
