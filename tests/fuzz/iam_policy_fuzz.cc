// IAM policy documents as the control endpoint will take them from a client (CreateRole, PutRolePolicy,
// PutKeyPolicy): iam::parse_json_with_lines on the bytes, then Policy::parse as the kind of document the last
// byte picks, and evaluate() of a request whose action and resource are the two strings the input starts with
// (each ended by a backslash and one more character, FuzzedDataProvider's ConsumeRandomLengthString).
#include <fuzzer/FuzzedDataProvider.h>

#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.h"
#include "iam/json_lines.h"
#include "iam/policy.h"

using namespace bakrest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  const auto kind = static_cast<iam::PolicyKind>(provider.ConsumeIntegralInRange<int>(0, 2));
  std::string action = provider.ConsumeRandomLengthString(64);
  std::string resource = provider.ConsumeRandomLengthString(128);
  std::string text = provider.ConsumeRemainingBytesAsString();

  bool tree = false;
  try {
    iam::JsonNode root = iam::parse_json_with_lines(text);
    tree = true;
  } catch (const iam::JsonError& e) {
    fuzz::check(e.line() >= 1, "a JSON error names a line from 1");
  }
  // What bakrest reads as JSON, nlohmann reads too (bakrest refuses more: duplicates, depth, size).
  if (tree) fuzz::check(nlohmann::json::accept(text), "a tree was read from text that is not JSON");

  try {
    iam::Policy policy = iam::Policy::parse(text, kind);
    fuzz::check(tree, "a policy was read from text that is not JSON");
    iam::Request request;
    request.action = action;
    request.resource = resource;
    request.principal = {iam::Principal::Type::kService, "rds.amazonaws.com"};
    request.context = {{"aws:SourceArn", resource}, {"aws:SourceAccount", action}};
    iam::Effect first = policy.evaluate(request);
    fuzz::check(first == policy.evaluate(request), "evaluate() is a function of the request");
    request.principal = {iam::Principal::Type::kAws, iam::canonical_aws_principal(action)};
    const iam::Policy* both[] = {&policy, &policy};
    fuzz::check(iam::allowed(both, request) == (policy.evaluate(request) == iam::Effect::kAllow),
                "a document twice decides as it does once");
  } catch (const iam::MalformedPolicy& e) {
    fuzz::check(e.line() >= 1, "a refusal names a line from 1");
  }
  return 0;
}
