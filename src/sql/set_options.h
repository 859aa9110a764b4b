// SET options (docs/COMPATIBILITY.md, "SET options"). Each option bakrest accepts is honoured, or accepted
// only in the setting bakrest always behaves by (SET ANSI_NULLS ON: yes; OFF: refused by name); none is
// accepted and then ignored, since a client that asked for another behaviour would get wrong answers.
#pragma once

#include <cstdint>
#include <optional>

#include "sql/parser.h"

namespace bakrest::sql {

// The settings of one session that change what its statements do.
struct SessionOptions {
  bool nocount = false;                 // DONE tokens carry no row count
  bool arithabort = false;              // no effect (overflow is always an error), kept for @@OPTIONS
  bool cursor_close_on_commit = false;  // no effect (bakrest has no cursors), kept for @@OPTIONS
  bool implicit_transactions = false;   // SQL Server's implicit transaction mode
  bool xact_abort = false;              // a run-time error rolls the transaction back and ends the batch
  std::optional<int64_t> textsize;      // bytes of an (MAX) value that are sent; nullopt: whole values
  int lock_timeout_ms = 10000;          // how long a statement waits for a lock; -1: as long as it takes
  // SET TRANSACTION ISOLATION LEVEL as sys.dm_exec_sessions reports it (1 READ UNCOMMITTED, 2 READ COMMITTED,
  // 3 REPEATABLE READ, 4 SERIALIZABLE, 5 SNAPSHOT); every level gets SQLite's serializable transactions.
  int isolation_level = 2;
  bool fmtonly = false;  // queries send their columns and no rows; other statements don't run
};

// Applies one SET statement to options. Throws SqlError 40517 naming the option (and the value) when
// bakrest can't behave that way, and 102 for a SET it can't read. Several boolean options may share one
// statement (SET ANSI_NULLS, QUOTED_IDENTIFIER ON); an error leaves options unchanged.
void apply_set_option(const SetOptionStatement& set, SessionOptions& options);

// @@OPTIONS: SQL Server's bit for each option in force (IMPLICIT_TRANSACTIONS 2, ANSI_WARNINGS 8, ANSI_NULLS
// 32, NOCOUNT 512, XACT_ABORT 16384, ...), with the ANSI settings bakrest always has set.
int64_t options_bits(const SessionOptions& options);

}  // namespace bakrest::sql
