// SET options (docs/PROCEDURES.md, "SET options"). Each option bakrest accepts is honoured, or accepted
// only in the setting bakrest always behaves by (SET ANSI_NULLS ON: yes; OFF: refused by name); none is
// accepted and then ignored, since a client that asked for another behaviour would get wrong answers.
#pragma once

#include <cstdint>
#include <optional>

#include "sql/parser.h"

namespace bakrest::sql {

// The settings of one session that change what its statements do.
struct SessionOptions {
  bool nocount = false;                // DONE tokens carry no row count
  bool implicit_transactions = false;  // SQL Server's implicit transaction mode
  bool xact_abort = false;             // a run-time error rolls the transaction back and ends the batch
  std::optional<int64_t> textsize;     // bytes of an (MAX) value that are sent; nullopt: whole values
  int lock_timeout_ms = 10000;         // how long a statement waits for a lock; -1: as long as it takes
};

// Applies one SET statement to options. Throws SqlError 40517 naming the option (and the value) when
// bakrest can't behave that way, and 102 for a SET it can't read. Several boolean options may share one
// statement (SET ANSI_NULLS, QUOTED_IDENTIFIER ON); an error leaves options unchanged.
void apply_set_option(const SetOptionStatement& set, SessionOptions& options);

}  // namespace bakrest::sql
