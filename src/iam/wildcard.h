// The wildcards of IAM policy documents: '*' stands for any run of characters (none included) and '?' for any
// one character. Where each may match depends on what is matched (AWS's IAM User Guide, "IAM JSON policy
// elements"): an action name, without regard to case; a condition value (StringLike), exactly; a resource
// ARN, whose colon-separated segments a wildcard stays inside unless it ends one; an ARN in a condition
// (ArnLike), each of its six segments on its own.
//
// Pure functions; no allocation beyond one row of the match table (patterns and texts here are at most a few
// KiB: policy documents are bounded when parsed). Safe from any thread.
#pragma once

#include <string_view>

namespace bakrest::iam {

// pattern against text, '*' and '?' matching any characters. ignore_case folds ASCII letters only.
bool wildcard_match(std::string_view pattern, std::string_view text, bool ignore_case = false);

// A Resource element's ARN pattern against a resource's ARN. "*" matches everything. Otherwise the pattern's
// first five colons divide it into segments (partition, service, region, account, and the resource, which may
// hold more colons); a wildcard in one of the first four segments does not match ':', unless it is the last
// character of its segment ("arn:aws:s3:*:*:x" and "arn:aws:logs:us-east-1:1:log-group:*" both work as AWS
// documents). Case matters.
bool resource_match(std::string_view pattern, std::string_view arn);

// ArnLike and ArnEquals: both ARNs are cut at their first five colons into six segments, and each segment of
// the pattern must match the same segment of arn, wildcards included. A pattern of just "*" matches any ARN;
// an arn of fewer than six segments matches nothing else.
bool arn_like(std::string_view pattern, std::string_view arn);

}  // namespace bakrest::iam
