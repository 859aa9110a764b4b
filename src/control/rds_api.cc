#include "control/rds_api.h"

#include <algorithm>
#include <regex>

#include "common/text.h"
#include "control/query_protocol.h"

namespace bakrest::control {

namespace {

constexpr QueryService kRds = QueryService::kRds;
constexpr int kMaxListIndex = 100;  // members of a list in one request

void fill_group(pugi::xml_node node, const rds::OptionGroup& g) {
  add_text(node, "OptionGroupName", g.name);
  add_text(node, "OptionGroupDescription", g.description);
  add_text(node, "EngineName", g.engine_name);
  add_text(node, "MajorEngineVersion", g.major_engine_version);
  pugi::xml_node options = node.append_child("Options");
  for (const auto& o : g.options) {
    pugi::xml_node option = options.append_child("Option");
    add_text(option, "OptionName", o.name);
    add_text(option, "OptionDescription", "SQL Server - Backup and Restore");
    add_text(option, "Persistent", "false");
    add_text(option, "Permanent", "false");
    pugi::xml_node settings = option.append_child("OptionSettings");
    for (const auto& s : o.settings) {
      pugi::xml_node setting = settings.append_child("OptionSetting");
      add_text(setting, "Name", s.name);
      add_text(setting, "Value", s.value);
      add_text(setting, "Description",
               "The ARN of the IAM role that RDS assumes for native backup and restore");
      add_text(setting, "ApplyType", "STATIC");
      add_text(setting, "DataType", "STRING");
      add_text(setting, "IsModifiable", "true");
      add_text(setting, "IsCollection", "false");
    }
    option.append_child("DBSecurityGroupMemberships");
    option.append_child("VpcSecurityGroupMemberships");
  }
  add_text(node, "AllowsVpcAndNonVpcInstanceMemberships", "true");
  add_text(node, "OptionGroupArn", g.arn);
}

// A list index ("1", "2", ...) within bounds; QueryFault otherwise.
int list_index(const std::string& text, const std::string& field) {
  const bool digits = !text.empty() && text.size() <= 3 &&
                      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || text[0] == '0' || std::stoi(text) > kMaxListIndex)
    throw QueryFault{"InvalidParameterValue",
                     field + ": list members are numbered 1 to " + std::to_string(kMaxListIndex)};
  return std::stoi(text);
}

// OptionsToInclude.OptionConfiguration.<n>.OptionName and .OptionSettings.OptionSetting.<m>.Name / .Value.
std::vector<rds::Option> options_to_include(const QueryParams& p) {
  static const std::regex member(R"(OptionConfiguration\.([0-9]+)\.(.+))");
  static const std::regex setting(R"(OptionSettings\.OptionSetting\.([0-9]+)\.(Name|Value))");
  std::map<int, std::string> names;
  std::map<int, std::map<int, rds::OptionSetting>> settings;
  for (const auto& [field, value] : p.under("OptionsToInclude")) {
    std::smatch m, s;
    const std::string full = "OptionsToInclude." + field;
    if (!std::regex_match(field, m, member))
      throw QueryFault{"InvalidParameterValue", "bakrest's RDS does not take " + full};
    int n = list_index(m[1], full);
    const std::string rest = m[2];
    if (rest == "OptionName") {
      names[n] = value;
    } else if (std::regex_match(rest, s, setting)) {
      rds::OptionSetting& target = settings[n][list_index(s[1], full)];
      (s[2] == "Name" ? target.name : target.value) = value;
    } else {
      throw QueryFault{"InvalidParameterValue", "bakrest's RDS does not take " + full +
                                                    " (options take OptionName and OptionSettings here)"};
    }
  }
  std::vector<rds::Option> options;
  for (const auto& [n, name] : names) {
    rds::Option option{name, {}};
    for (const auto& [m, s] : settings[n]) option.settings.push_back(s);
    options.push_back(std::move(option));
  }
  for (const auto& [n, s] : settings) {
    if (!names.contains(n))
      throw QueryFault{"MissingParameter",
                       "The request must contain the parameter OptionsToInclude.OptionConfiguration." +
                           std::to_string(n) + ".OptionName"};
  }
  return options;
}

std::vector<std::string> options_to_remove(const QueryParams& p) {
  std::vector<std::string> names;
  for (const auto& [field, value] : p.under("OptionsToRemove")) {
    if (!field.starts_with("member."))
      throw QueryFault{"InvalidParameterValue", "bakrest's RDS does not take OptionsToRemove." + field};
    list_index(field.substr(7), "OptionsToRemove." + field);
    names.push_back(value);
  }
  return names;
}

}  // namespace

ApiReply RdsApi::handle(const std::map<std::string, std::string>& form) {
  auto action_field = form.find("Action");
  const std::string action = action_field == form.end() ? "" : action_field->second;
  const rds::InstanceIdentity& id = groups_.identity();
  auto fill_instance = [&](pugi::xml_node node) {
    add_text(node, "DBInstanceIdentifier", id.instance_id);
    add_text(node, "Engine", id.engine);
    add_text(node, "DBInstanceStatus", "available");
    add_text(node, "MasterUsername", facts_.master_username);
    pugi::xml_node endpoint = node.append_child("Endpoint");
    add_text(endpoint, "Address", facts_.address);
    add_text(endpoint, "Port", std::to_string(facts_.port));
    add_text(node, "MultiAZ", "false");
    add_text(node, "EngineVersion", facts_.engine_version);
    add_text(node, "LicenseModel", "license-included");
    pugi::xml_node memberships = node.append_child("OptionGroupMemberships");
    pugi::xml_node membership = memberships.append_child("OptionGroupMembership");
    add_text(membership, "OptionGroupName", groups_.instance_group());
    add_text(membership, "Status", "in-sync");
    add_text(node, "DbInstancePort", "0");
    add_text(node, "DBInstanceArn", id.arn());
    add_text(node, "Timezone", facts_.time_zone);
  };
  auto require_this_instance = [&](const std::string& identifier) {
    if (ascii_lower(identifier) != ascii_lower(id.instance_id))
      throw rds::RdsError("DBInstanceNotFound", "DBInstance " + identifier + " not found.", 404);
  };
  try {
    QueryReply reply(action, kRdsXmlns);
    pugi::xml_node result = reply.result();
    if (action == "CreateOptionGroup") {
      QueryParams p(form, action,
                    {"OptionGroupName", "EngineName", "MajorEngineVersion", "OptionGroupDescription"}, kRds);
      fill_group(
          result.append_child("OptionGroup"),
          groups_.create(p.required("OptionGroupName"), p.required("EngineName"),
                         p.required("MajorEngineVersion"), p.required("OptionGroupDescription"), now_()));
    } else if (action == "ModifyOptionGroup") {
      QueryParams p(form, action,
                    {"OptionGroupName", "OptionsToInclude.*", "OptionsToRemove.*", "ApplyImmediately"}, kRds);
      p.boolean("ApplyImmediately", false);  // checked; a change here always applies at once
      fill_group(result.append_child("OptionGroup"),
                 groups_.modify(p.required("OptionGroupName"), options_to_include(p), options_to_remove(p)));
    } else if (action == "DescribeOptionGroups") {
      QueryParams p(form, action, {"OptionGroupName", "EngineName", "MajorEngineVersion", "MaxRecords"},
                    kRds);
      pugi::xml_node list = result.append_child("OptionGroupsList");
      if (auto name = p.get("OptionGroupName")) {
        if (p.get("EngineName") || p.get("MajorEngineVersion"))
          throw QueryFault{
              "InvalidParameterCombination",
              "OptionGroupName can't be supplied together with EngineName or MajorEngineVersion"};
        fill_group(list.append_child("OptionGroup"), groups_.describe(*name));
      } else {
        for (const auto& g :
             groups_.list(p.get("EngineName").value_or(""), p.get("MajorEngineVersion").value_or("")))
          fill_group(list.append_child("OptionGroup"), g);
      }
    } else if (action == "DescribeDBInstances") {
      QueryParams p(form, action, {"DBInstanceIdentifier", "MaxRecords"}, kRds);
      if (auto identifier = p.get("DBInstanceIdentifier")) require_this_instance(*identifier);
      fill_instance(result.append_child("DBInstances").append_child("DBInstance"));
    } else if (action == "ModifyDBInstance") {
      QueryParams p(form, action, {"DBInstanceIdentifier", "OptionGroupName", "ApplyImmediately"}, kRds);
      require_this_instance(p.required("DBInstanceIdentifier"));
      p.boolean("ApplyImmediately", false);
      if (auto group = p.get("OptionGroupName")) groups_.set_instance_group(*group);
      fill_instance(result.append_child("DBInstance"));
    } else {
      return query_error(kRdsXmlns, "InvalidAction",
                         "bakrest's RDS does not have the action " + (action.empty() ? "(none)" : action));
    }
    return reply.done();
  } catch (const QueryFault& e) {
    return query_error(kRdsXmlns, e.code, e.message);
  } catch (const rds::RdsError& e) {
    return query_error(kRdsXmlns, e.code(), e.what(), e.http_status());
  }
}

}  // namespace bakrest::control
