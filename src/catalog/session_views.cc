// sys.dm_exec_sessions and sys.dm_exec_connections: the instance's live sessions, with the columns of SQL
// Server's views that bakrest can fill with what is true of its sessions.
#include <string>
#include <vector>

#include "catalog/view_sets.h"
#include "common/clock.h"

namespace bakrest::catalog {
namespace {

Value time_or_null(int64_t micros) { return micros > 0 ? Value(DateTime{micros}) : Value(); }

Value bit(bool b) { return int64_t{b ? 1 : 0}; }

std::vector<Row> session_rows(const ViewContext& context) {
  std::vector<Row> rows;
  const int64_t now = now_micros();
  for (const SessionRow& s : context.source->sessions()) {
    int64_t end = s.status == "running" ? now : s.last_request_end_micros;
    rows.push_back(Row{
        int64_t{s.spid},
        DateTime{s.login_time_micros},
        s.host_name,
        s.program_name,
        int64_t{s.connection.client_pid},
        int64_t{s.connection.protocol_version},
        s.connection.client_interface,
        s.login_name,
        s.status,
        int64_t{4},  // endpoint_id: TSQL Default TCP
        time_or_null(s.last_request_start_micros),
        time_or_null(s.last_request_end_micros),
        int64_t{(end > s.last_request_start_micros ? end - s.last_request_start_micros : 0) / 1000},
        bit(true),
        s.text_size < 0 ? int64_t{2147483647} : s.text_size,
        std::string("us_english"),
        std::string("mdy"),
        int64_t{7},
        int64_t{s.lock_timeout_ms},
        s.row_count,
        int64_t{s.prev_error},
        s.login_name,
        s.database_id,
        int64_t{s.open_transaction_count},
        int64_t{s.transaction_isolation_level},
    });
  }
  return rows;
}

std::vector<Row> connection_rows(const ViewContext& context) {
  std::vector<Row> rows;
  for (const SessionRow& s : context.source->sessions()) {
    const ConnectionInfo& c = s.connection;
    const ConnectionCounters* n = c.counters.get();
    rows.push_back(Row{
        int64_t{s.spid},
        int64_t{s.spid},
        DateTime{c.connect_time_micros},
        std::string("TCP"),
        std::string("TSQL"),
        int64_t{static_cast<int32_t>(c.protocol_version)},
        int64_t{4},
        std::string(c.encrypted ? "TRUE" : "FALSE"),
        std::string("SQL"),
        n ? Value(n->reads.load()) : Value(),
        n ? Value(n->writes.load()) : Value(),
        n ? time_or_null(n->last_read_micros.load()) : Value(),
        n ? time_or_null(n->last_write_micros.load()) : Value(),
        int64_t{c.packet_size},
        c.client_address,
        int64_t{c.client_port},
        c.local_address,
        int64_t{c.local_port},
        c.connection_id,
    });
  }
  return rows;
}

}  // namespace

void add_session_views(std::vector<ViewDefinition>& out) {
  out.push_back(ViewDefinition{"sys",
                               "dm_exec_sessions",
                               {{"session_id", "SMALLINT"},
                                {"login_time", "DATETIME"},
                                {"host_name", "NVARCHAR(128)"},
                                {"program_name", "NVARCHAR(128)"},
                                {"host_process_id", "INT"},
                                {"client_version", "INT"},
                                {"client_interface_name", "NVARCHAR(32)"},
                                {"login_name", "NVARCHAR(128)"},
                                {"status", "NVARCHAR(30)"},
                                {"endpoint_id", "INT"},
                                {"last_request_start_time", "DATETIME"},
                                {"last_request_end_time", "DATETIME"},
                                {"total_elapsed_time", "INT"},
                                {"is_user_process", "BIT"},
                                {"text_size", "INT"},
                                {"language", "NVARCHAR(128)"},
                                {"date_format", "NVARCHAR(3)"},
                                {"date_first", "SMALLINT"},
                                {"lock_timeout", "INT"},
                                {"row_count", "BIGINT"},
                                {"prev_error", "INT"},
                                {"original_login_name", "NVARCHAR(128)"},
                                {"database_id", "SMALLINT"},
                                {"open_transaction_count", "INT"},
                                {"transaction_isolation_level", "SMALLINT"}},
                               session_rows});
  out.push_back(ViewDefinition{"sys",
                               "dm_exec_connections",
                               {{"session_id", "INT"},
                                {"most_recent_session_id", "INT"},
                                {"connect_time", "DATETIME"},
                                {"net_transport", "NVARCHAR(40)"},
                                {"protocol_type", "NVARCHAR(40)"},
                                {"protocol_version", "INT"},
                                {"endpoint_id", "INT"},
                                {"encrypt_option", "NVARCHAR(40)"},
                                {"auth_scheme", "NVARCHAR(40)"},
                                {"num_reads", "INT"},
                                {"num_writes", "INT"},
                                {"last_read", "DATETIME"},
                                {"last_write", "DATETIME"},
                                {"net_packet_size", "INT"},
                                {"client_net_address", "VARCHAR(48)"},
                                {"client_tcp_port", "INT"},
                                {"local_net_address", "VARCHAR(48)"},
                                {"local_tcp_port", "INT"},
                                {"connection_id", "UNIQUEIDENTIFIER"}},
                               connection_rows});
}

}  // namespace bakrest::catalog
