#include "iam/policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace bakrest::iam {
namespace {

// The RDS page's documents (../shared/reference, "Manually Creating an IAM Role for Native Backup and
// Restore").
constexpr const char* kTrustPolicy = R"({
    "Version": "2012-10-17",
    "Statement":
    [{
        "Effect": "Allow",
        "Principal": {"Service":  "rds.amazonaws.com"},
        "Action": "sts:AssumeRole"
    }]
})";

constexpr const char* kPermissionsWithEncryption = R"({
    "Version": "2012-10-17",
    "Statement":
    [
        {
        "Effect": "Allow",
        "Action":
            [
                "kms:DescribeKey",
                "kms:GenerateDataKey",
                "kms:Encrypt",
                "kms:Decrypt"
            ],
        "Resource": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        },
        {
        "Effect": "Allow",
        "Action":
            [
                "s3:ListBucket",
                "s3:GetBucketLocation"
            ],
        "Resource": "arn:aws:s3:::bucket_name"
        },
        {
        "Effect": "Allow",
        "Action":
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:ListMultipartUploadParts",
                "s3:AbortMultipartUpload"
            ],
        "Resource": "arn:aws:s3:::bucket_name/*"
        }
    ]
})";

constexpr const char* kKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
constexpr const char* kInstance = "arn:aws:rds:us-east-1:123456789012:db:bakrest-1";

Request act(std::string action, std::string resource) {
  Request r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  return r;
}

Request by_service(std::string action, std::string service,
                   std::vector<std::pair<std::string, std::string>> context = {}) {
  Request r;
  r.action = std::move(action);
  r.principal = {Principal::Type::kService, std::move(service)};
  r.context = std::move(context);
  return r;
}

Request by_aws(std::string action, std::string resource, std::string principal) {
  Request r = act(std::move(action), std::move(resource));
  r.principal = {Principal::Type::kAws, std::move(principal)};
  return r;
}

TEST(Policy, ThePagesTrustPolicyLetsRdsAssumeTheRole) {
  Policy trust = Policy::parse(kTrustPolicy, PolicyKind::kTrust);
  EXPECT_EQ(trust.evaluate(by_service("sts:AssumeRole", "rds.amazonaws.com")), Effect::kAllow);
  EXPECT_EQ(trust.evaluate(by_service("sts:AssumeRole", "ec2.amazonaws.com")), Effect::kNone);
  EXPECT_EQ(trust.evaluate(by_service("sts:AssumeRoleWithSAML", "rds.amazonaws.com")), Effect::kNone);
  Request someone = by_aws("sts:AssumeRole", "", "arn:aws:iam::123456789012:root");
  EXPECT_EQ(trust.evaluate(someone), Effect::kNone);
}

TEST(Policy, ThePagesPermissionPolicyAllowsExactlyWhatItLists) {
  Policy p = Policy::parse(kPermissionsWithEncryption, PolicyKind::kPermissions);
  EXPECT_EQ(p.evaluate(act("s3:ListBucket", "arn:aws:s3:::bucket_name")), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("s3:GetBucketLocation", "arn:aws:s3:::bucket_name")), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("s3:GetObject", "arn:aws:s3:::bucket_name/db/backup1.bak")), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("s3:PutObject", "arn:aws:s3:::bucket_name/backup1.bak")), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("s3:AbortMultipartUpload", "arn:aws:s3:::bucket_name/x")), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("kms:GenerateDataKey", kKey)), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("kms:Decrypt", kKey)), Effect::kAllow);
  // Not listed, or not on that resource.
  EXPECT_EQ(p.evaluate(act("s3:DeleteObject", "arn:aws:s3:::bucket_name/backup1.bak")), Effect::kNone);
  EXPECT_EQ(p.evaluate(act("s3:GetObject", "arn:aws:s3:::other_bucket/backup1.bak")), Effect::kNone);
  EXPECT_EQ(p.evaluate(act("s3:ListBucket", "arn:aws:s3:::bucket_name/backup1.bak")), Effect::kNone);
  EXPECT_EQ(p.evaluate(act("s3:GetObject", "arn:aws:s3:::bucket_name")), Effect::kNone);
  EXPECT_EQ(p.evaluate(act("kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/other")), Effect::kNone);
  EXPECT_EQ(p.evaluate(act("kms:CreateGrant", kKey)), Effect::kNone);
  // Action names compare without case, resources with it.
  EXPECT_EQ(p.evaluate(act("S3:GETOBJECT", "arn:aws:s3:::bucket_name/x")), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("s3:GetObject", "arn:aws:s3:::Bucket_name/x")), Effect::kNone);
}

TEST(Policy, AnExplicitDenyWinsInTheSameDocumentAndAcrossDocuments) {
  Policy mixed = Policy::parse(R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
      {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket_name/*"}]})",
                               PolicyKind::kPermissions);
  EXPECT_EQ(mixed.evaluate(act("s3:PutObject", "arn:aws:s3:::bucket_name/a")), Effect::kDeny);
  EXPECT_EQ(mixed.evaluate(act("s3:GetObject", "arn:aws:s3:::bucket_name/a")), Effect::kAllow);

  Policy allow_all = Policy::parse(R"({"Version": "2012-10-17", "Statement":
      {"Effect": "Allow", "Action": "*", "Resource": "*"}})",
                                   PolicyKind::kPermissions);
  Policy deny_kms = Policy::parse(R"({"Version": "2012-10-17", "Statement":
      {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}})",
                                  PolicyKind::kPermissions);
  const Policy* both[] = {&allow_all, &deny_kms};
  EXPECT_FALSE(allowed(both, act("kms:Decrypt", kKey)));
  EXPECT_TRUE(allowed(both, act("s3:GetObject", "arn:aws:s3:::b/k")));
  const Policy* none[] = {&deny_kms};
  EXPECT_FALSE(allowed(none, act("s3:GetObject", "arn:aws:s3:::b/k")));  // denied by default
  EXPECT_FALSE(allowed({}, act("s3:GetObject", "arn:aws:s3:::b/k")));
}

TEST(Policy, NotActionAndNotResource) {
  // AWS's examples: everything but IAM; and a Deny for every S3 object outside one bucket.
  Policy p = Policy::parse(R"({"Version": "2012-10-17", "Statement": [
      {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
      {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::bucket_name", "arn:aws:s3:::bucket_name/*"]}
  ]})",
                           PolicyKind::kPermissions);
  EXPECT_EQ(p.evaluate(act("iam:CreateRole", "*")), Effect::kNone);
  EXPECT_EQ(p.evaluate(act("kms:Decrypt", kKey)), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("s3:GetObject", "arn:aws:s3:::bucket_name/a")), Effect::kAllow);
  EXPECT_EQ(p.evaluate(act("s3:GetObject", "arn:aws:s3:::elsewhere/a")), Effect::kDeny);
}

TEST(Policy, TrustConditionsOnSourceArnAndSourceAccount) {
  Policy trust = Policy::parse(R"({
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Service": "rds.amazonaws.com"},
    "Action": "sts:AssumeRole",
    "Condition": {
      "StringEquals": {"aws:SourceAccount": "123456789012"},
      "ArnLike": {"aws:SourceArn": "arn:aws:rds:us-east-1:123456789012:db:*"}
    }
  }]
})",
                               PolicyKind::kTrust);
  auto assume = [&](std::vector<std::pair<std::string, std::string>> context) {
    return trust.evaluate(by_service("sts:AssumeRole", "rds.amazonaws.com", std::move(context)));
  };
  EXPECT_EQ(assume({{"aws:SourceAccount", "123456789012"}, {"aws:SourceArn", kInstance}}), Effect::kAllow);
  // Key names compare without case.
  EXPECT_EQ(assume({{"AWS:SOURCEACCOUNT", "123456789012"}, {"aws:sourcearn", kInstance}}), Effect::kAllow);
  EXPECT_EQ(assume({{"aws:SourceAccount", "111122223333"}, {"aws:SourceArn", kInstance}}), Effect::kNone);
  EXPECT_EQ(assume({{"aws:SourceAccount", "123456789012"},
                    {"aws:SourceArn", "arn:aws:rds:us-east-1:111122223333:db:x"}}),
            Effect::kNone);
  // A key the request does not carry: the condition is false.
  EXPECT_EQ(assume({{"aws:SourceArn", kInstance}}), Effect::kNone);
}

TEST(Policy, NegatedOperatorsAndMissingKeys) {
  Policy p = Policy::parse(R"({"Version": "2012-10-17", "Statement": [{
      "Effect": "Deny", "Action": "s3:*", "Resource": "*",
      "Condition": {"StringNotEquals": {"aws:SourceAccount": ["123456789012", "111122223333"]}}}]})",
                           PolicyKind::kPermissions);
  Request r = act("s3:GetObject", "arn:aws:s3:::b/k");
  EXPECT_EQ(p.evaluate(r), Effect::kDeny);  // missing key: a negated operator holds
  r.context = {{"aws:SourceAccount", "123456789012"}};
  EXPECT_EQ(p.evaluate(r), Effect::kNone);
  r.context = {{"aws:SourceAccount", "111122223333"}};
  EXPECT_EQ(p.evaluate(r), Effect::kNone);
  r.context = {{"aws:SourceAccount", "999999999999"}};
  EXPECT_EQ(p.evaluate(r), Effect::kDeny);

  Policy like = Policy::parse(R"({"Version": "2012-10-17", "Statement": [{
      "Effect": "Allow", "Action": "s3:*", "Resource": "*",
      "Condition": {"StringLike": {"aws:SourceArn": "arn:aws:rds:*:123456789012:db:prod-*"},
                    "StringEqualsIgnoreCase": {"aws:SourceAccount": 123456789012}}}]})",
                              PolicyKind::kPermissions);
  r.context = {{"aws:SourceArn", "arn:aws:rds:eu-west-1:123456789012:db:prod-7"},
               {"aws:SourceAccount", "123456789012"}};
  EXPECT_EQ(like.evaluate(r), Effect::kAllow);
  r.context = {{"aws:SourceArn", "arn:aws:rds:eu-west-1:123456789012:db:test-7"},
               {"aws:SourceAccount", "123456789012"}};
  EXPECT_EQ(like.evaluate(r), Effect::kNone);
}

TEST(Policy, KeyPolicyPrincipals) {
  // What KMS gives a key created without a policy: the account, which lets IAM policies grant use.
  Policy p = Policy::parse(R"({
  "Version": "2012-10-17",
  "Id": "key-default-1",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow use by the backup role", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::123456789012:role/rds-backup"]},
     "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}
  ]
})",
                           PolicyKind::kResource);
  EXPECT_EQ(p.evaluate(by_aws("kms:Encrypt", kKey, "arn:aws:iam::123456789012:root")), Effect::kAllow);
  EXPECT_EQ(p.evaluate(by_aws("kms:Decrypt", kKey, "arn:aws:iam::123456789012:role/rds-backup")),
            Effect::kAllow);
  EXPECT_EQ(p.evaluate(by_aws("kms:Encrypt", kKey, "arn:aws:iam::123456789012:role/rds-backup")),
            Effect::kNone);
  EXPECT_EQ(p.evaluate(by_aws("kms:Decrypt", kKey, "arn:aws:iam::123456789012:role/other")), Effect::kNone);
  EXPECT_EQ(p.evaluate(by_aws("kms:Decrypt", kKey, "arn:aws:iam::111122223333:root")), Effect::kNone);

  // An account ID stands for the account's root; "*" for anyone.
  Policy by_id = Policy::parse(R"({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"},
      "Action": "kms:*", "Resource": "*"}]})",
                               PolicyKind::kResource);
  EXPECT_EQ(by_id.evaluate(by_aws("kms:Decrypt", kKey, "arn:aws:iam::123456789012:root")), Effect::kAllow);
  Policy anyone = Policy::parse(R"({"Statement": [{"Effect": "Allow", "Principal": "*",
      "Action": "kms:DescribeKey", "Resource": "*"}]})",
                                PolicyKind::kResource);
  EXPECT_EQ(anyone.evaluate(by_aws("kms:DescribeKey", kKey, "arn:aws:iam::111122223333:role/x")),
            Effect::kAllow);
  EXPECT_EQ(canonical_aws_principal("123456789012"), "arn:aws:iam::123456789012:root");
  EXPECT_EQ(canonical_aws_principal("arn:aws:iam::123456789012:role/r"), "arn:aws:iam::123456789012:role/r");
}

struct Refused {
  PolicyKind kind;
  std::string document;
  std::string reason;  // a part of the reason
  int line;
};

TEST(Policy, MalformedDocumentsAreRefusedWithTheLine) {
  const std::vector<Refused> cases = {
      {PolicyKind::kPermissions,
       "{\n\"Version\": \"2012-10-17\",\n\"Statement\": [\n{\"Effect\": \"Allow\",\n"
       "\"Action\": \"s3:*\", \"Resource\": \"*\",\n\"Principal\": \"*\"}]}",
       "Policy document should not specify a principal.", 6},
      {PolicyKind::kTrust, "{\n\"Statement\": {\n\"Effect\": \"Allow\", \"Action\": \"sts:AssumeRole\"}}",
       "Missing required field Principal", 2},
      {PolicyKind::kTrust,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"sts:AssumeRole\",\n\"Principal\": \"*\",\n"
       "\"Resource\": \"*\"}}",
       "Has prohibited field Resource", 3},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\n\"Effect\": \"allow\", \"Action\": \"s3:*\", \"Resource\": \"*\"}}",
       "Invalid effect: allow", 2},
      {PolicyKind::kPermissions, "{\"Statement\": {\"Action\": \"s3:*\", \"Resource\": \"*\"}}",
       "Missing required field Effect", 1},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\",\n\"Action\": [\"GetObject\"],\n"
       "\"Resource\": \"*\"}}",
       "Actions/Conditions must be prefaced by a vendor", 2},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": [],\n\"Resource\": \"*\"}}",
       "Policy statement must contain actions.", 1},
      {PolicyKind::kPermissions, "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\"}}",
       "Policy statement must contain resources.", 1},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\",\n\n"
       "\"Resource\": \"bucket_name\"}}",
       "Resource bucket_name must be in ARN format or \"*\".", 3},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\",\n"
       "\"Resource\": \"arn:aws:*:::b\"}}",
       "wildcard in its service segment", 2},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\",\n"
       "\"Condtion\": {}}}",
       "unknown field Condtion", 2},
      {PolicyKind::kResource,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"kms:*\", \"Resource\": \"*\",\n"
       "\"NotPrincipal\": {\"AWS\": \"123456789012\"}}}",
       "NotPrincipal is not supported by bakrest", 2},
      {PolicyKind::kResource,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"kms:*\", \"Resource\": \"*\",\n"
       "\"Principal\": {\"Federated\": \"cognito-identity.amazonaws.com\"}}}",
       "Principal type Federated is not supported by bakrest", 2},
      {PolicyKind::kResource,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"kms:*\", \"Resource\": \"*\",\n"
       "\"Principal\": {\"AWS\": \"bob\"}}}",
       "Invalid principal in policy: \"AWS\":\"bob\"", 2},
      {PolicyKind::kTrust,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"sts:AssumeRole\",\n"
       "\"Principal\": {\"Service\": \"rds\"}}}",
       "Invalid principal in policy: \"SERVICE\":\"rds\"", 2},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\",\n"
       "\"Condition\": {\"NumericLessThan\": {\"s3:max-keys\": \"10\"}}}}",
       "Condition operator NumericLessThan is not supported by bakrest", 2},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\",\n"
       "\"Condition\": {\"StringEqualsIfExists\": {\"aws:SourceAccount\": \"1\"}}}}",
       "Condition operator StringEqualsIfExists is not supported by bakrest", 2},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\",\n"
       "\"Condition\": {\"StringEqual\": {\"aws:SourceAccount\": \"1\"}}}}",
       "Invalid Condition type : StringEqual", 2},
      {PolicyKind::kPermissions,
       "{\"Statement\": {\"Effect\": \"Allow\", \"Action\": \"s3:*\", \"Resource\": \"*\",\n"
       "\"Condition\": {\"StringEquals\": {\"SourceAccount\": \"1\"}}}}",
       "Actions/Conditions must be prefaced by a vendor", 2},
      {PolicyKind::kPermissions,
       "{\"Version\": \"2012-10-17\", \"Statement\": {\"Effect\": \"Allow\",\n"
       "\"Action\": \"s3:*\", \"Resource\": \"arn:aws:s3:::b/${aws:username}/*\"}}",
       "Policy variables (${...}) are not supported by bakrest", 2},
      {PolicyKind::kPermissions,
       "{\"Statement\": [\n{\"Sid\": \"Not alphanumeric\", \"Effect\": \"Allow\","
       " \"Action\": \"s3:*\", \"Resource\": \"*\"}]}",
       "Statement IDs (SID) must be alpha-numeric", 2},
      {PolicyKind::kPermissions,
       "{\"Statement\": [{\"Sid\": \"A\", \"Effect\": \"Allow\", \"Action\": \"s3:*\","
       " \"Resource\": \"*\"},\n{\"Sid\": \"A\", \"Effect\": \"Deny\", \"Action\": \"s3:*\", \"Resource\": "
       "\"*\"}]}",
       "Statement IDs (SID) in a single policy must be unique.", 2},
      {PolicyKind::kPermissions, "{\"Version\": \"2012-10-17\"}", "Missing required field Statement", 1},
      {PolicyKind::kPermissions, "{\"Statement\": []}", "Statement must be an object or a non-empty list", 1},
      {PolicyKind::kPermissions, "{\n\"Version\": \"2012-10-18\", \"Statement\": []}",
       "Invalid Version 2012-10-18", 2},
      {PolicyKind::kPermissions,
       "{\n\"Version\": \"2012-10-17\",\n\"Statement\": [\n{\"Effect\": \"Allow\",,}]}",
       "Syntax errors in policy", 4},
      {PolicyKind::kPermissions, "[]", "Syntax errors in policy: a policy is a JSON object", 1},
  };
  for (const Refused& c : cases) {
    try {
      Policy::parse(c.document, c.kind);
      ADD_FAILURE() << "accepted: " << c.document;
    } catch (const MalformedPolicy& e) {
      EXPECT_NE(e.reason().find(c.reason), std::string::npos) << e.what() << "\nfor: " << c.document;
      EXPECT_EQ(e.line(), c.line) << e.what() << "\nfor: " << c.document;
      EXPECT_NE(std::string(e.what()).find("(line " + std::to_string(c.line) + ")"), std::string::npos);
    }
  }
}

TEST(Policy, WhatIsAcceptedBesideTheRefusals) {
  // Key policy Sids may hold spaces; policy variables are plain text before 2012-10-17.
  EXPECT_NO_THROW(Policy::parse(R"({"Statement": {"Sid": "Allow use of the key", "Effect": "Allow",
      "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}})",
                                PolicyKind::kResource));
  Policy old = Policy::parse(R"({"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*",
      "Resource": "arn:aws:s3:::b/${x}"}})",
                             PolicyKind::kPermissions);
  EXPECT_EQ(old.evaluate(act("s3:GetObject", "arn:aws:s3:::b/${x}")), Effect::kAllow);
  EXPECT_EQ(old.evaluate(act("s3:GetObject", "arn:aws:s3:::b/y")), Effect::kNone);
  // One principal type with a list, the other with one value.
  Policy trust = Policy::parse(R"({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
      "Principal": {"Service": ["rds.amazonaws.com", "ec2.amazonaws.com"], "AWS": "123456789012"}}})",
                               PolicyKind::kTrust);
  EXPECT_EQ(trust.evaluate(by_service("sts:AssumeRole", "ec2.amazonaws.com")), Effect::kAllow);
  EXPECT_EQ(trust.evaluate(by_aws("sts:AssumeRole", "", "arn:aws:iam::123456789012:root")), Effect::kAllow);
}

}  // namespace
}  // namespace bakrest::iam
