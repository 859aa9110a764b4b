// IAM policy documents: read and checked when they are stored, then evaluated for each request, following
// AWS's documented logic for the parts of the policy language these documents use (IAM User Guide, "Policy
// evaluation logic" and "IAM JSON policy element reference"):
//
//   Version           "2012-10-17" or "2008-10-17" (the default when absent)
//   Id                any string
//   Statement         one statement object or a non-empty list of them, each with
//     Sid             a string (letters and digits only in role policies), unique in the document
//     Effect          "Allow" or "Deny"
//     Action / NotAction        "service:name" or "*", or a list of them; '*' and '?' match, case is ignored
//     Resource / NotResource    an ARN or "*", or a list; '*' and '?' match within an ARN's segments
//     Principal       "*" or {"AWS": ..., "Service": ...}: AWS values are "*", an account ID or an IAM ARN,
//                     Service values a service principal such as "rds.amazonaws.com"
//     Condition       {operator: {key: value or list of values}}, operators StringEquals, StringNotEquals,
//                     StringEqualsIgnoreCase, StringNotEqualsIgnoreCase, StringLike, StringNotLike,
//                     ArnEquals, ArnLike, ArnNotEquals, ArnNotLike; keys such as aws:SourceArn,
//                     aws:SourceAccount
//
// A statement applies to a request when its action, resource, principal and every condition match. A Deny
// that applies wins over every Allow; with no Deny, an Allow that applies allows; otherwise the request is
// denied by default. A condition on a key the request does not carry is false, except for the negated
// operators (Not...), for which it is true.
//
// Refused when parsed (MalformedPolicy, with the line): what is not JSON or not of this shape; a Principal in
// a role's permission policy, none in a trust or key policy; a Resource in a trust policy, none elsewhere;
// and what AWS would accept but bakrest does not evaluate, named: NotPrincipal, other condition operators
// (Numeric, Date, Bool, IpAddress, Null, ...IfExists, ForAnyValue:, ForAllValues:), principals other than AWS
// and Service, and policy variables (${...}) in a 2012-10-17 document. Never accepted and ignored.
//
// Thread safety: a Policy is immutable once parsed; evaluate() may be called from any thread.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bakrest::iam {

// What a document is for decides what it may and must hold.
enum class PolicyKind {
  kPermissions,  // a role's inline or managed policy: Action, Resource; no Principal
  kTrust,        // a role's trust (assume-role) policy: Principal, Action; no Resource
  kResource,     // a resource's own policy (a KMS key policy): Principal, Action, Resource
};

// MalformedPolicyDocument: what() is the reason and the line, "Policy document should not specify a
// principal. (line 6)"; reason() and line() apart.
class MalformedPolicy : public std::runtime_error {
 public:
  MalformedPolicy(const std::string& reason, int line)
      : std::runtime_error(reason + " (line " + std::to_string(line) + ")"), reason_(reason), line_(line) {}
  const std::string& reason() const { return reason_; }
  int line() const { return line_; }

 private:
  std::string reason_;
  int line_;
};

// Who makes a request, as a Principal element names it.
struct Principal {
  enum class Type { kAws, kService };
  Type type = Type::kAws;
  // kAws: an IAM ARN, "arn:aws:iam::123456789012:role/name" or the account's
  // "arn:aws:iam::123456789012:root"; kService: "rds.amazonaws.com".
  std::string id;
};

struct Request {
  std::string action;    // "s3:GetObject"
  std::string resource;  // the ARN acted on; not looked at by trust policies
  Principal principal;   // not looked at by permission policies
  // Condition keys and their values ("aws:SourceArn", "arn:aws:rds:..."); names compare without case.
  std::vector<std::pair<std::string, std::string>> context;
};

// What one document says of a request.
enum class Effect {
  kNone,   // no statement applies
  kAllow,  // an Allow applies and no Deny does
  kDeny,   // a Deny applies
};

class Policy {
 public:
  // Throws MalformedPolicy.
  static Policy parse(std::string_view document, PolicyKind kind);

  Effect evaluate(const Request& request) const;
  PolicyKind kind() const { return kind_; }

  struct Statement;  // the parsed form (policy.cc)
  Policy(Policy&&) noexcept;
  Policy& operator=(Policy&&) noexcept;
  ~Policy();

 private:
  Policy(PolicyKind kind, std::vector<Statement> statements);
  PolicyKind kind_;
  std::vector<Statement> statements_;
};

// AWS's rule across the documents that apply to one request: an explicit Deny in any of them denies;
// otherwise an Allow in any of them allows; otherwise it is denied.
bool allowed(std::span<const Policy* const> policies, const Request& request);

// "arn:aws:iam::123456789012:root" for an account ID, the ARN itself for an ARN: the form principals compare
// in.
std::string canonical_aws_principal(std::string_view account_or_arn);

}  // namespace bakrest::iam
