// The worked examples of AWS's "Signature Calculations for the Authorization Header: Transferring Payload in
// a Single Chunk" and "Authenticating Requests: Using Query Parameters" (S3 API reference), with their
// canonical requests, strings to sign and signatures.
#include "storage/sigv4.h"

#include <gtest/gtest.h>

namespace bakrest::storage::sigv4 {
namespace {

const Credentials kCredentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const Scope kScope{"20130524", "us-east-1", "s3"};
constexpr char kDate[] = "20130524T000000Z";
constexpr char kEmptyHash[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string last_line(const std::string& text) { return text.substr(text.rfind('\n') + 1); }

TEST(SigV4, GetObjectExample) {
  Request r{"GET",
            "/test.txt",
            {},
            {{"Host", "examplebucket.s3.amazonaws.com"},
             {"Range", "bytes=0-9"},
             {"x-amz-content-sha256", kEmptyHash},
             {"x-amz-date", kDate}},
            kEmptyHash};
  EXPECT_EQ(canonical_request(r),
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string to_sign = string_to_sign(kDate, kScope, canonical_request(r));
  EXPECT_EQ(to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(signature(kCredentials.secret_access_key, kScope, to_sign),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(authorization(r, kCredentials, kDate, kScope),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, PutObjectExampleEncodesTheKey) {
  const std::string payload_hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  Request r{"PUT",
            "/test$file.text",
            {},
            {{"Host", "examplebucket.s3.amazonaws.com"},
             {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
             {"x-amz-date", kDate},
             {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
             {"x-amz-content-sha256", payload_hash}},
            payload_hash};
  EXPECT_EQ(
      canonical_request(r),
      "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\nhost:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\n"
      "x-amz-date:20130524T000000Z\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n"
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const std::string to_sign = string_to_sign(kDate, kScope, canonical_request(r));
  EXPECT_EQ(last_line(to_sign), "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
  EXPECT_EQ(signature(kCredentials.secret_access_key, kScope, to_sign),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, GetBucketLifecycleExampleSignsAValuelessParameter) {
  Request r{"GET",
            "/",
            {{"lifecycle", ""}},
            {{"Host", "examplebucket.s3.amazonaws.com"},
             {"x-amz-date", kDate},
             {"x-amz-content-sha256", kEmptyHash}},
            kEmptyHash};
  EXPECT_EQ(canonical_request(r),
            "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string to_sign = string_to_sign(kDate, kScope, canonical_request(r));
  EXPECT_EQ(last_line(to_sign), "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
  EXPECT_EQ(signature(kCredentials.secret_access_key, kScope, to_sign),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4, ListObjectsExampleSortsTheQuery) {
  Request r{"GET",
            "/",
            {{"prefix", "J"}, {"max-keys", "2"}},
            {{"Host", "examplebucket.s3.amazonaws.com"},
             {"x-amz-date", kDate},
             {"x-amz-content-sha256", kEmptyHash}},
            kEmptyHash};
  EXPECT_EQ(canonical_query(r.query), "max-keys=2&prefix=J");
  const std::string to_sign = string_to_sign(kDate, kScope, canonical_request(r));
  EXPECT_EQ(last_line(to_sign), "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
  EXPECT_EQ(signature(kCredentials.secret_access_key, kScope, to_sign),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, PresignedUrlExample) {
  Request r{"GET", "/test.txt", {}, {{"Host", "examplebucket.s3.amazonaws.com"}}, "UNSIGNED-PAYLOAD"};
  auto query = presign(r, kCredentials, kDate, kScope, 86400);
  EXPECT_EQ(
      canonical_query({query.begin(), query.end() - 1}),
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2F"
      "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host");
  ASSERT_EQ(query.back().first, "X-Amz-Signature");
  EXPECT_EQ(query.back().second, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

TEST(SigV4, EncodingFollowsRfc3986AndFoldsHeaderSpaces) {
  EXPECT_EQ(uri_encode("a b+c/d~e_f.g-h", true), "a%20b%2Bc%2Fd~e_f.g-h");
  EXPECT_EQ(uri_encode("backups/été.bak", false), "backups/%C3%A9t%C3%A9.bak");
  Request r{"GET", "", {}, {{"X-Odd", "  a   b  "}, {"x-odd", "c"}}, kEmptyHash};
  EXPECT_EQ(canonical_request(r), std::string("GET\n/\n\nx-odd:a b,c\n\nx-odd\n") + kEmptyHash);
}

TEST(SigV4, ASessionTokenIsSignedInAPresignedUrl) {
  Credentials temporary = kCredentials;
  temporary.session_token = "token/with+chars";
  Request r{"GET", "/k", {}, {{"host", "h"}}, "UNSIGNED-PAYLOAD"};
  auto query = presign(r, temporary, kDate, kScope, 60);
  bool found = false;
  for (const auto& [name, value] : query)
    found |= name == "X-Amz-Security-Token" && value == temporary.session_token;
  EXPECT_TRUE(found);
  EXPECT_NE(query.back().second, presign(r, kCredentials, kDate, kScope, 60).back().second);
}

}  // namespace
}  // namespace bakrest::storage::sigv4
