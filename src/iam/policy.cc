#include "iam/policy.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <set>

#include "common/text.h"
#include "iam/json_lines.h"
#include "iam/wildcard.h"

namespace bakrest::iam {

// The parsed form of a statement.
struct Policy::Statement {
  enum class Operator {
    kStringEquals,
    kStringNotEquals,
    kStringEqualsIgnoreCase,
    kStringNotEqualsIgnoreCase,
    kStringLike,
    kStringNotLike,
    kArnEquals,
    kArnLike,
    kArnNotEquals,
    kArnNotLike,
  };
  struct Condition {
    Operator op;
    bool negated;
    std::string key;  // as written; compared without case
    std::vector<std::string> values;
  };

  bool deny = false;
  std::vector<std::string> actions;
  bool not_action = false;
  std::vector<std::string> resources;
  bool not_resource = false;
  bool any_principal = false;
  std::vector<Principal> principals;
  std::vector<Condition> conditions;
};

namespace {

using Operator = Policy::Statement::Operator;
using Condition = Policy::Statement::Condition;

struct OperatorName {
  std::string_view name;
  Operator op;
  bool negated;
};

constexpr OperatorName kOperators[] = {
    {"StringEquals", Operator::kStringEquals, false},
    {"StringNotEquals", Operator::kStringNotEquals, true},
    {"StringEqualsIgnoreCase", Operator::kStringEqualsIgnoreCase, false},
    {"StringNotEqualsIgnoreCase", Operator::kStringNotEqualsIgnoreCase, true},
    {"StringLike", Operator::kStringLike, false},
    {"StringNotLike", Operator::kStringNotLike, true},
    {"ArnEquals", Operator::kArnEquals, false},
    {"ArnLike", Operator::kArnLike, false},
    {"ArnNotEquals", Operator::kArnNotEquals, true},
    {"ArnNotLike", Operator::kArnNotLike, true},
};

// Operators of AWS's policy language that bakrest does not evaluate: a document using one is refused by name
// rather than half understood.
constexpr std::string_view kUnsupportedOperators[] = {
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "Null",
};

[[noreturn]] void refuse(const std::string& reason, const JsonNode& at) {
  throw MalformedPolicy(reason, at.line);
}

[[noreturn]] void syntax(const std::string& what, const JsonNode& at) {
  refuse("Syntax errors in policy: " + what, at);
}

// A string, or a list of strings: Action, Resource, a principal's values. Empty lists count as absent.
std::vector<std::string> strings(const JsonNode& node, std::string_view field) {
  std::vector<std::string> out;
  if (node.is_string()) {
    out.push_back(node.text);
  } else if (node.kind == JsonNode::Kind::kArray) {
    for (const JsonNode& item : node.items) {
      if (!item.is_string()) syntax(std::string(field) + " must be a string or a list of strings", item);
      out.push_back(item.text);
    }
  } else {
    syntax(std::string(field) + " must be a string or a list of strings", node);
  }
  return out;
}

bool has_vendor_prefix(std::string_view name) {
  size_t colon = name.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 == name.size()) return false;
  return std::all_of(name.begin(), name.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_alphanumeric(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

bool is_account_id(std::string_view text) {
  return text.size() == 12 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

class Reader {
 public:
  explicit Reader(PolicyKind kind) : kind_(kind) {}

  std::vector<Policy::Statement> document(const JsonNode& root) {
    if (root.kind != JsonNode::Kind::kObject) syntax("a policy is a JSON object", root);
    const JsonNode* statement = nullptr;
    for (const auto& [name, value] : root.members) {
      if (name == "Version") {
        if (!value.is_string() || (value.text != "2012-10-17" && value.text != "2008-10-17"))
          refuse("Invalid Version " + (value.is_string() ? value.text : "(not a string)") +
                     ": a policy's Version is 2012-10-17 (or the older 2008-10-17)",
                 value);
        variables_ = value.text == "2012-10-17";
      } else if (name == "Id") {
        if (!value.is_string()) syntax("Id must be a string", value);
      } else if (name == "Statement") {
        statement = &value;
      } else {
        syntax("unknown field " + name, value);
      }
    }
    if (statement == nullptr) refuse("Missing required field Statement", root);
    std::vector<Policy::Statement> out;
    if (statement->kind == JsonNode::Kind::kObject) {
      out.push_back(read_statement(*statement));
    } else if (statement->kind == JsonNode::Kind::kArray && !statement->items.empty()) {
      for (const JsonNode& item : statement->items) {
        if (item.kind != JsonNode::Kind::kObject) syntax("each statement is a JSON object", item);
        out.push_back(read_statement(item));
      }
    } else {
      syntax("Statement must be an object or a non-empty list of objects", *statement);
    }
    return out;
  }

 private:
  Policy::Statement read_statement(const JsonNode& node) {
    Policy::Statement s;
    const JsonNode *effect = nullptr, *action = nullptr, *not_action = nullptr, *resource = nullptr,
                   *not_resource = nullptr, *principal = nullptr, *condition = nullptr;
    for (const auto& [name, value] : node.members) {
      if (name == "Sid") {
        sid(value);
      } else if (name == "Effect") {
        effect = &value;
      } else if (name == "Action") {
        action = &value;
      } else if (name == "NotAction") {
        not_action = &value;
      } else if (name == "Resource") {
        resource = &value;
      } else if (name == "NotResource") {
        not_resource = &value;
      } else if (name == "Principal") {
        principal = &value;
      } else if (name == "NotPrincipal") {
        refuse(
            "NotPrincipal is not supported by bakrest: name the principals a statement applies to in "
            "Principal",
            value);
      } else if (name == "Condition") {
        condition = &value;
      } else {
        syntax("unknown field " + name, value);
      }
    }

    if (effect == nullptr) refuse("Missing required field Effect", node);
    if (!effect->is_string() || (effect->text != "Allow" && effect->text != "Deny"))
      refuse(
          "Invalid effect: " + (effect->is_string() ? effect->text : "(not a string)") + " (Allow or Deny)",
          *effect);
    s.deny = effect->text == "Deny";

    if (action && not_action) syntax("a statement has Action or NotAction, not both", *not_action);
    if (!action && !not_action) refuse("Policy statement must contain actions.", node);
    s.not_action = not_action != nullptr;
    const JsonNode& actions = action ? *action : *not_action;
    s.actions = strings(actions, action ? "Action" : "NotAction");
    if (s.actions.empty()) refuse("Policy statement must contain actions.", actions);
    for (const std::string& a : s.actions) {
      if (a != "*" && !has_vendor_prefix(a))
        refuse("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", actions);
    }

    if (resource && not_resource) syntax("a statement has Resource or NotResource, not both", *not_resource);
    if (kind_ == PolicyKind::kTrust) {
      if (resource || not_resource)
        refuse(std::string("Has prohibited field ") + (resource ? "Resource" : "NotResource"),
               resource ? *resource : *not_resource);
    } else {
      if (!resource && !not_resource) refuse("Policy statement must contain resources.", node);
      s.not_resource = not_resource != nullptr;
      const JsonNode& resources = resource ? *resource : *not_resource;
      s.resources = strings(resources, resource ? "Resource" : "NotResource");
      if (s.resources.empty()) refuse("Policy statement must contain resources.", resources);
      for (const std::string& r : s.resources) check_resource(r, resources);
    }

    if (kind_ == PolicyKind::kPermissions) {
      if (principal) refuse("Policy document should not specify a principal.", *principal);
    } else {
      if (!principal) refuse("Missing required field Principal", node);
      read_principal(*principal, s);
    }

    if (condition) read_conditions(*condition, s);
    return s;
  }

  void sid(const JsonNode& value) {
    if (!value.is_string()) syntax("Sid must be a string", value);
    if (kind_ != PolicyKind::kResource && !is_alphanumeric(value.text))
      refuse(
          "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression "
          "[0-9A-Za-z]*",
          value);
    if (!value.text.empty() && !sids_.insert(value.text).second)
      refuse("Statement IDs (SID) in a single policy must be unique.", value);
  }

  void check_variables(const std::string& text, const JsonNode& at) {
    if (variables_ && text.find("${") != std::string::npos)
      refuse("Policy variables (${...}) are not supported by bakrest: " + text, at);
  }

  void check_resource(const std::string& r, const JsonNode& at) {
    check_variables(r, at);
    if (r == "*") return;
    size_t colons = static_cast<size_t>(std::count(r.begin(), r.end(), ':'));
    if (r.rfind("arn:", 0) != 0 || colons < 5)
      refuse("Resource " + r + " must be in ARN format or \"*\".", at);
    // The service segment names the product: AWS allows no wildcard there.
    size_t start = r.find(':', 4) + 1;
    std::string_view service = std::string_view(r).substr(start, r.find(':', start) - start);
    if (service.find_first_of("*?") != std::string_view::npos)
      refuse("Resource " + r + " must not use a wildcard in its service segment", at);
  }

  void read_principal(const JsonNode& node, Policy::Statement& s) {
    if (node.is_string()) {
      if (node.text != "*") refuse("Invalid principal in policy: " + node.text, node);
      s.any_principal = true;
      return;
    }
    if (node.kind != JsonNode::Kind::kObject || node.members.empty())
      syntax("Principal must be \"*\" or an object such as {\"Service\": \"rds.amazonaws.com\"}", node);
    for (const auto& [type, values] : node.members) {
      if (type != "AWS" && type != "Service")
        refuse("Principal type " + type + " is not supported by bakrest (AWS and Service are)", values);
      std::vector<std::string> ids = strings(values, "Principal");
      if (ids.empty()) syntax("Principal " + type + " names no principal", values);
      for (const std::string& id : ids) {
        Principal p;
        p.type = type == "AWS" ? Principal::Type::kAws : Principal::Type::kService;
        if (!valid_principal(p.type, id))
          refuse("Invalid principal in policy: \"" + std::string(type == "AWS" ? "AWS" : "SERVICE") +
                     "\":\"" + id + "\"",
                 values);
        p.id = p.type == Principal::Type::kAws && id != "*" ? canonical_aws_principal(id) : id;
        s.principals.push_back(std::move(p));
      }
    }
  }

  static bool valid_principal(Principal::Type type, const std::string& id) {
    if (type == Principal::Type::kService) {
      static const std::regex service(R"([a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?)");
      return std::regex_match(id, service);
    }
    if (id == "*" || is_account_id(id)) return true;
    static const std::regex arn(
        R"(arn:aws:(iam::\d{12}:(root|user/.+|role/.+)|sts::\d{12}:assumed-role/.+))");
    return std::regex_match(id, arn);
  }

  void read_conditions(const JsonNode& node, Policy::Statement& s) {
    if (node.kind != JsonNode::Kind::kObject)
      syntax("Condition must be an object of condition operators", node);
    for (const auto& [name, block] : node.members) {
      const OperatorName* op = nullptr;
      for (const OperatorName& known : kOperators) {
        if (known.name == name) op = &known;
      }
      if (op == nullptr) {
        bool unsupported = name.ends_with("IfExists") || name.starts_with("ForAnyValue:") ||
                           name.starts_with("ForAllValues:") ||
                           std::find(std::begin(kUnsupportedOperators), std::end(kUnsupportedOperators),
                                     name) != std::end(kUnsupportedOperators);
        if (unsupported)
          refuse("Condition operator " + name +
                     " is not supported by bakrest (String[Not]Equals[IgnoreCase], String[Not]Like, "
                     "Arn[Not]Equals and Arn[Not]Like are)",
                 block);
        refuse("Invalid Condition type : " + name, block);
      }
      if (block.kind != JsonNode::Kind::kObject || block.members.empty())
        syntax(name + " must be an object of condition keys and values", block);
      for (const auto& [key, values] : block.members) {
        if (!has_vendor_prefix(key))
          refuse("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", values);
        Condition c{op->op, op->negated, key, {}};
        auto take = [&](const JsonNode& v) {
          if (v.kind != JsonNode::Kind::kString && v.kind != JsonNode::Kind::kNumber &&
              v.kind != JsonNode::Kind::kBool)
            syntax("a condition's values are strings, numbers or booleans, or a list of them", v);
          check_variables(v.text, v);
          c.values.push_back(v.text);
        };
        if (values.kind == JsonNode::Kind::kArray) {
          for (const JsonNode& v : values.items) take(v);
        } else {
          take(values);
        }
        if (c.values.empty()) syntax("condition " + key + " has no values", values);
        s.conditions.push_back(std::move(c));
      }
    }
  }

  PolicyKind kind_;
  bool variables_ = false;  // a 2012-10-17 document, where ${...} is a policy variable
  std::set<std::string> sids_;
};

bool principal_matches(const Policy::Statement& s, const Principal& who) {
  if (s.any_principal) return true;
  return std::any_of(s.principals.begin(), s.principals.end(), [&](const Principal& p) {
    return p.type == who.type && (p.id == "*" || p.id == who.id);
  });
}

bool value_matches(Operator op, const std::string& pattern, const std::string& value) {
  switch (op) {
    case Operator::kStringEquals:
    case Operator::kStringNotEquals:
      return pattern == value;
    case Operator::kStringEqualsIgnoreCase:
    case Operator::kStringNotEqualsIgnoreCase:
      return iequals(pattern, value);
    case Operator::kStringLike:
    case Operator::kStringNotLike:
      return wildcard_match(pattern, value);
    case Operator::kArnEquals:
    case Operator::kArnLike:
    case Operator::kArnNotEquals:
    case Operator::kArnNotLike:
      return arn_like(pattern, value);
  }
  return false;
}

bool condition_holds(const Condition& c, const Request& request) {
  const std::string* value = nullptr;
  for (const auto& [key, v] : request.context) {
    if (iequals(key, c.key)) value = &v;
  }
  // A key the request does not carry matches nothing: false, or true for a negated operator.
  if (value == nullptr) return c.negated;
  bool any = std::any_of(c.values.begin(), c.values.end(),
                         [&](const std::string& pattern) { return value_matches(c.op, pattern, *value); });
  return c.negated ? !any : any;
}

bool applies(const Policy::Statement& s, PolicyKind kind, const Request& request) {
  bool action = std::any_of(s.actions.begin(), s.actions.end(),
                            [&](const std::string& a) { return wildcard_match(a, request.action, true); });
  if (action == s.not_action) return false;
  if (kind != PolicyKind::kTrust) {
    bool resource = std::any_of(s.resources.begin(), s.resources.end(),
                                [&](const std::string& r) { return resource_match(r, request.resource); });
    if (resource == s.not_resource) return false;
  }
  if (kind != PolicyKind::kPermissions && !principal_matches(s, request.principal)) return false;
  return std::all_of(s.conditions.begin(), s.conditions.end(),
                     [&](const Condition& c) { return condition_holds(c, request); });
}

}  // namespace

Policy::Policy(PolicyKind kind, std::vector<Statement> statements)
    : kind_(kind), statements_(std::move(statements)) {}
Policy::Policy(Policy&&) noexcept = default;
Policy& Policy::operator=(Policy&&) noexcept = default;
Policy::~Policy() = default;

Policy Policy::parse(std::string_view document, PolicyKind kind) {
  JsonNode root;
  try {
    root = parse_json_with_lines(document);
  } catch (const JsonError& e) {
    throw MalformedPolicy(std::string("Syntax errors in policy: ") + e.what(), e.line());
  }
  return Policy(kind, Reader(kind).document(root));
}

Effect Policy::evaluate(const Request& request) const {
  Effect effect = Effect::kNone;
  for (const Statement& s : statements_) {
    if (!applies(s, kind_, request)) continue;
    if (s.deny) return Effect::kDeny;
    effect = Effect::kAllow;
  }
  return effect;
}

bool allowed(std::span<const Policy* const> policies, const Request& request) {
  bool allow = false;
  for (const Policy* policy : policies) {
    Effect e = policy->evaluate(request);
    if (e == Effect::kDeny) return false;
    allow = allow || e == Effect::kAllow;
  }
  return allow;
}

std::string canonical_aws_principal(std::string_view account_or_arn) {
  if (is_account_id(account_or_arn)) return "arn:aws:iam::" + std::string(account_or_arn) + ":root";
  return std::string(account_or_arn);
}

}  // namespace bakrest::iam
