// RDS's query protocol (Version 2014-10-31), the part the RDS page's setup uses, over the instance's option
// groups (rds/option_groups.h), so that `aws rds ... --endpoint-url` works unchanged:
//
//   CreateOptionGroup, DescribeOptionGroups,
//   ModifyOptionGroup (what `aws rds add-option-to-option-group` and `remove-option-from-option-group` send),
//   DescribeDBInstances, ModifyDBInstance (--option-group-name)
//
// This instance is the one DB instance there is. A parameter an action does not take here (Tags, Port,
// OptionVersion, security groups, ModifyDBInstance's other settings, paging markers) is refused by name,
// never ignored. Errors carry RDS's codes (OptionGroupNotFoundFault, DBInstanceNotFound,
// InvalidParameterValue, MissingParameter, ...).
//
// Thread safety: handle() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "control/kms_api.h"  // ApiReply
#include "rds/option_groups.h"

namespace bakrest::control {

inline constexpr const char* kRdsXmlns = "http://rds.amazonaws.com/doc/2014-10-31/";

// What DescribeDBInstances tells of the instance beyond its identity and option group.
struct DbInstanceFacts {
  std::string engine_version;  // "15.00.4153.1.v1"
  std::string master_username;
  std::string address;  // the TDS endpoint
  int port = 1433;
  std::string time_zone = "UTC";
};

class RdsApi {
 public:
  RdsApi(rds::OptionGroups& groups, DbInstanceFacts facts, std::function<int64_t()> now)
      : groups_(groups), facts_(std::move(facts)), now_(std::move(now)) {}

  // form: the request's decoded fields, Action and Version among them.
  ApiReply handle(const std::map<std::string, std::string>& form);

 private:
  rds::OptionGroups& groups_;
  DbInstanceFacts facts_;
  std::function<int64_t()> now_;
};

}  // namespace bakrest::control
