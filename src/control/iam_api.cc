#include "control/iam_api.h"

#include <initializer_list>

#include "control/query_protocol.h"
#include "storage/sigv4.h"

namespace bakrest::control {

namespace {

constexpr QueryService kIam = QueryService::kIam;

// IAM sends policy documents URL-encoded inside its XML.
std::string encoded(std::string_view document) { return storage::sigv4::uri_encode(document, true); }

// Fills role (a <Role>, or a <member> of a list) with r's fields.
void fill_role(pugi::xml_node role, const iam::Role& r) {
  add_text(role, "Path", r.path);
  add_text(role, "RoleName", r.name);
  add_text(role, "RoleId", r.role_id);
  add_text(role, "Arn", r.arn);
  add_text(role, "CreateDate", iso8601(r.create_date));
  add_text(role, "AssumeRolePolicyDocument", encoded(r.trust_policy));
  if (!r.description.empty()) add_text(role, "Description", r.description);
  add_text(role, "MaxSessionDuration", std::to_string(r.max_session_duration));
}

void fill_policy(pugi::xml_node policy, const iam::ManagedPolicy& p) {
  add_text(policy, "PolicyName", p.name);
  add_text(policy, "DefaultVersionId", "v1");
  add_text(policy, "PolicyId", p.policy_id);
  add_text(policy, "Path", p.path);
  add_text(policy, "Arn", p.arn);
  add_text(policy, "AttachmentCount", std::to_string(p.attachment_count));
  add_text(policy, "PermissionsBoundaryUsageCount", "0");
  add_text(policy, "IsAttachable", "true");
  if (!p.description.empty()) add_text(policy, "Description", p.description);
  add_text(policy, "CreateDate", iso8601(p.create_date));
  add_text(policy, "UpdateDate", iso8601(p.create_date));
}

}  // namespace

ApiReply IamApi::handle(const std::map<std::string, std::string>& form) {
  auto action_field = form.find("Action");
  const std::string action = action_field == form.end() ? "" : action_field->second;
  try {
    QueryReply reply(action, kIamXmlns);
    pugi::xml_node result = reply.result();
    if (action == "CreateRole") {
      QueryParams p(form, action,
                    {"RoleName", "AssumeRolePolicyDocument", "Path", "Description", "MaxSessionDuration"},
                    kIam);
      fill_role(result.append_child("Role"),
                roles_.create_role(p.required("RoleName"), p.required("AssumeRolePolicyDocument"),
                                   p.get("Path").value_or("/"), p.get("Description").value_or(""),
                                   p.integer("MaxSessionDuration", 3600), now_()));
    } else if (action == "GetRole") {
      QueryParams p(form, action, {"RoleName"}, kIam);
      fill_role(result.append_child("Role"), roles_.get_role(p.required("RoleName")));
    } else if (action == "ListRoles") {
      QueryParams p(form, action, {"PathPrefix", "MaxItems"}, kIam);
      pugi::xml_node list = result.append_child("Roles");
      for (const auto& r : roles_.list_roles(p.get("PathPrefix").value_or("/")))
        fill_role(list.append_child("member"), r);
      add_text(result, "IsTruncated", "false");
    } else if (action == "DeleteRole") {
      QueryParams p(form, action, {"RoleName"}, kIam);
      roles_.delete_role(p.required("RoleName"));
    } else if (action == "UpdateAssumeRolePolicy") {
      QueryParams p(form, action, {"RoleName", "PolicyDocument"}, kIam);
      roles_.update_trust_policy(p.required("RoleName"), p.required("PolicyDocument"));
    } else if (action == "PutRolePolicy") {
      QueryParams p(form, action, {"RoleName", "PolicyName", "PolicyDocument"}, kIam);
      roles_.put_role_policy(p.required("RoleName"), p.required("PolicyName"), p.required("PolicyDocument"));
    } else if (action == "GetRolePolicy") {
      QueryParams p(form, action, {"RoleName", "PolicyName"}, kIam);
      std::string role = p.required("RoleName"), name = p.required("PolicyName");
      std::string document = roles_.get_role_policy(role, name);
      add_text(result, "RoleName", roles_.get_role(role).name);
      add_text(result, "PolicyName", name);
      add_text(result, "PolicyDocument", encoded(document));
    } else if (action == "DeleteRolePolicy") {
      QueryParams p(form, action, {"RoleName", "PolicyName"}, kIam);
      roles_.delete_role_policy(p.required("RoleName"), p.required("PolicyName"));
    } else if (action == "ListRolePolicies") {
      QueryParams p(form, action, {"RoleName", "MaxItems"}, kIam);
      pugi::xml_node names = result.append_child("PolicyNames");
      for (const auto& name : roles_.list_role_policies(p.required("RoleName")))
        add_text(names, "member", name);
      add_text(result, "IsTruncated", "false");
    } else if (action == "CreatePolicy") {
      QueryParams p(form, action, {"PolicyName", "PolicyDocument", "Path", "Description"}, kIam);
      fill_policy(
          result.append_child("Policy"),
          roles_.create_policy(p.required("PolicyName"), p.required("PolicyDocument"),
                               p.get("Path").value_or("/"), p.get("Description").value_or(""), now_()));
    } else if (action == "GetPolicy") {
      QueryParams p(form, action, {"PolicyArn"}, kIam);
      fill_policy(result.append_child("Policy"), roles_.get_policy(p.required("PolicyArn")));
    } else if (action == "DeletePolicy") {
      QueryParams p(form, action, {"PolicyArn"}, kIam);
      roles_.delete_policy(p.required("PolicyArn"));
    } else if (action == "AttachRolePolicy" || action == "DetachRolePolicy") {
      QueryParams p(form, action, {"RoleName", "PolicyArn"}, kIam);
      action == "AttachRolePolicy"
          ? roles_.attach_role_policy(p.required("RoleName"), p.required("PolicyArn"))
          : roles_.detach_role_policy(p.required("RoleName"), p.required("PolicyArn"));
    } else if (action == "ListAttachedRolePolicies") {
      QueryParams p(form, action, {"RoleName", "PathPrefix", "MaxItems"}, kIam);
      pugi::xml_node list = result.append_child("AttachedPolicies");
      for (const auto& policy : roles_.list_attached_role_policies(p.required("RoleName"))) {
        pugi::xml_node member = list.append_child("member");
        add_text(member, "PolicyName", policy.name);
        add_text(member, "PolicyArn", policy.arn);
      }
      add_text(result, "IsTruncated", "false");
    } else {
      return query_error(kIamXmlns, "InvalidAction",
                         "bakrest's IAM does not have the action " + (action.empty() ? "(none)" : action));
    }
    return reply.done();
  } catch (const QueryFault& e) {
    return query_error(kIamXmlns, e.code, e.message);
  } catch (const iam::IamError& e) {
    return query_error(kIamXmlns, e.code(), e.what(), e.http_status());
  }
}

}  // namespace bakrest::control
