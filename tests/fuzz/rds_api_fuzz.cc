// RDS's query protocol as the control endpoint takes it from a signed client (control::RdsApi::handle) over
// option groups in a scratch msdb, with the default role of a new instance: the input is the form-encoded
// body (Action=...&OptionsToInclude.OptionConfiguration.1.OptionName=...). Every reply is XML: 200 with the
// action's result, or 400/403/404 with an ErrorResponse; the instance stays in a group that exists. The same
// body goes to STS's (control::StsApi::handle, AssumeRole of the instance's roles) as the account's login.
#include <pugixml.hpp>
#include <string>

#include "control/query_protocol.h"
#include "control/rds_api.h"
#include "control/sts_api.h"
#include "fuzz_support.h"
#include "iam/role_store.h"
#include "instance/msdb.h"
#include "rds/first_start.h"
#include "rds/option_groups.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static instance::Msdb msdb(fuzz::ScratchDir::path() / "msdb.db");
  static iam::RoleStore roles(msdb, "123456789012");
  static rds::OptionGroups groups(msdb, roles,
                                  {"db-fuzz", "sqlserver-se", "15.00", "us-east-1", "123456789012"});
  static bool seeded = rds::seed_option_group(roles, groups, std::nullopt, 0);
  static control::RdsApi api(groups, {"15.00.4153.1.v1", "admin", "127.0.0.1", 1433, "UTC"},
                             [] { return int64_t{1796600000}; });
  static control::RoleSessions sessions;
  static control::StsApi sts(roles, sessions, [] { return int64_t{1796600000}; });
  (void)seeded;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto form = control::parse_form(body);
  const control::Signer login{"arn:aws:iam::123456789012:user/admin", "AKIAFUZZ", "123456789012",
                              std::nullopt};
  for (const control::ApiReply& reply : {api.handle(form), sts.handle(form, login)}) {
    fuzz::check(reply.status == 200 || reply.status == 400 || reply.status == 403 || reply.status == 404,
                "a reply is 200, 400, 403 or 404");
    pugi::xml_document doc;
    fuzz::check(doc.load_string(reply.body.c_str()), "a reply is XML");
    if (reply.status != 200) fuzz::check(doc.child("ErrorResponse"), "an error is an ErrorResponse");
  }
  fuzz::check(!groups.instance_group().empty(), "the instance is always in an option group");
  return 0;
}
