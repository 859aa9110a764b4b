#include "control/sts_api.h"

#include <spdlog/spdlog.h>

#include <regex>

#include "control/query_protocol.h"

namespace bakrest::control {

namespace {

constexpr QueryService kSts = QueryService::kSts;

ApiReply access_denied(const Signer& signer, const std::string& role_arn) {
  return query_error(
      kStsXmlns, "AccessDenied",
      "User: " + signer.arn + " is not authorized to perform: sts:AssumeRole on resource: " + role_arn, 403);
}

// Whether the trust policy lets signer assume the role: the signer by its ARN, or (for the account's own
// login, which administers the account) a statement naming its account.
bool trusted(const iam::Policy& trust, const Signer& signer, const std::optional<std::string>& external_id) {
  std::vector<std::pair<std::string, std::string>> context{{"aws:PrincipalAccount", signer.account},
                                                           {"aws:PrincipalArn", signer.arn}};
  if (external_id) context.emplace_back("sts:ExternalId", *external_id);
  iam::Request as_signer{"sts:AssumeRole", "", {iam::Principal::Type::kAws, signer.arn}, context};
  const iam::Effect effect = trust.evaluate(as_signer);
  if (effect != iam::Effect::kNone || signer.session) return effect == iam::Effect::kAllow;
  iam::Request as_account = as_signer;
  as_account.principal.id = iam::canonical_aws_principal(signer.account);
  return trust.evaluate(as_account) == iam::Effect::kAllow;
}

}  // namespace

ApiReply StsApi::handle(const std::map<std::string, std::string>& form, const Signer& signer) {
  auto action_field = form.find("Action");
  const std::string action = action_field == form.end() ? "" : action_field->second;
  try {
    QueryReply reply(action, kStsXmlns);
    pugi::xml_node result = reply.result();
    if (action == "GetCallerIdentity") {
      QueryParams p(form, action, {}, kSts);
      add_text(result, "UserId", signer.user_id);
      add_text(result, "Account", signer.account);
      add_text(result, "Arn", signer.arn);
    } else if (action == "AssumeRole") {
      QueryParams p(form, action, {"RoleArn", "RoleSessionName", "DurationSeconds", "ExternalId"}, kSts);
      const std::string role_arn = p.required("RoleArn");
      const std::string session_name = p.required("RoleSessionName");
      static const std::regex session_form(R"([\w+=,.@-]{2,64})");
      if (!std::regex_match(session_name, session_form))
        throw QueryFault{"ValidationError",
                         "1 validation error detected: Value '" + session_name +
                             "' at 'roleSessionName' failed to satisfy constraint: Member must have length "
                             "between 2 and 64 and match [\\w+=,.@-]*"};
      const int duration = p.integer("DurationSeconds", 3600);
      if (duration < 900)
        throw QueryFault{"ValidationError", "1 validation error detected: Value '" +
                                                std::to_string(duration) +
                                                "' at 'durationSeconds' failed to satisfy constraint: Member "
                                                "must have value greater than or equal to 900"};
      // A session does not assume another role here (AWS's role chaining is not served).
      if (signer.session) return access_denied(signer, role_arn);
      auto role = roles_.role_policies(role_arn);
      if (!role || !trusted(role->trust, signer, p.get("ExternalId"))) {
        spdlog::info("control endpoint: sts AssumeRole of {} by {} refused{}", role_arn, signer.arn,
                     role ? " by its trust policy" : ": no such role");
        return access_denied(signer, role_arn);
      }
      if (duration > role->role.max_session_duration)
        throw QueryFault{"ValidationError",
                         "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."};
      const std::string assumed_arn =
          "arn:aws:sts::" + signer.account + ":assumed-role/" + role->role.name + "/" + session_name;
      RoleSession session;
      try {
        session =
            sessions_.issue(role_arn, assumed_arn, role->role.role_id + ":" + session_name, duration, now_());
      } catch (const std::runtime_error& e) {
        return query_error(kStsXmlns, "Throttling", e.what());
      }
      spdlog::info("control endpoint: sts AssumeRole of {} by {}: temporary key {} until {}", role_arn,
                   signer.arn, session.access_key_id, iso8601(session.expiration));
      pugi::xml_node credentials = result.append_child("Credentials");
      add_text(credentials, "AccessKeyId", session.access_key_id);
      add_text(credentials, "SecretAccessKey", session.secret_access_key);
      add_text(credentials, "SessionToken", session.session_token);
      add_text(credentials, "Expiration", iso8601(session.expiration));
      pugi::xml_node user = result.append_child("AssumedRoleUser");
      add_text(user, "AssumedRoleId", session.assumed_role_id);
      add_text(user, "Arn", session.assumed_role_arn);
    } else {
      return query_error(kStsXmlns, "InvalidAction",
                         "bakrest's STS does not have the action " + (action.empty() ? "(none)" : action));
    }
    return reply.done();
  } catch (const QueryFault& e) {
    return query_error(kStsXmlns, e.code, e.message);
  }
}

}  // namespace bakrest::control
