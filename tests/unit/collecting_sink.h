// A ResultSink that keeps everything it is given, for tests.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result_sink.h"

namespace bakrest::testing {

struct CollectingSink : ResultSink {
  struct ResultSet {
    std::vector<Column> columns;
    std::vector<std::vector<Value>> rows;
  };
  std::vector<ResultSet> results;
  std::vector<Message> messages;
  std::vector<std::optional<uint64_t>> dones;
  std::vector<int32_t> return_statuses;
  struct ReturnValue {
    uint16_t ordinal;
    std::string name;
    Column column;
    Value value;
  };
  std::vector<ReturnValue> return_values;
  std::string database;
  bool cancel = false;

  void columns(const std::vector<Column>& c) override { results.push_back({c, {}}); }
  void row(const std::vector<Value>& v) override { results.back().rows.push_back(v); }
  void done(std::optional<uint64_t> rows) override { dones.push_back(rows); }
  void message(const Message& m) override { messages.push_back(m); }
  void database_changed(const std::string&, const std::string& to) override { database = to; }
  void procedure_started() override {}
  void procedure_done(int32_t status) override { return_statuses.push_back(status); }
  void return_value(uint16_t ordinal, std::string_view name, const Column& column,
                    const Value& value) override {
    return_values.push_back({ordinal, std::string(name), column, value});
  }
  bool attention() const override { return cancel; }

  std::vector<Message> errors() const {
    std::vector<Message> out;
    for (const auto& m : messages) {
      if (m.severity > 10) out.push_back(m);
    }
    return out;
  }
};

}  // namespace bakrest::testing
