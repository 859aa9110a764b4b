#include "storage/bucket_router.h"

#include <stdexcept>

namespace bakrest::storage {

void BucketRouter::route(const std::string& bucket, std::unique_ptr<ObjectStore> store) {
  if (!routes_.emplace(bucket, std::move(store)).second) {
    throw std::invalid_argument("the bucket '" + bucket + "' is configured twice");
  }
}

ObjectStore& BucketRouter::store_of(const std::string& bucket) {
  auto it = routes_.find(bucket);
  return it == routes_.end() ? fallback_ : *it->second;
}

std::string BucketRouter::endpoint(const std::string& bucket) const {
  auto it = routes_.find(bucket);
  return it == routes_.end() ? fallback_.endpoint(bucket) : it->second->endpoint(bucket);
}

bool BucketRouter::signs_requests(const std::string& bucket) const {
  auto it = routes_.find(bucket);
  return it == routes_.end() ? fallback_.signs_requests(bucket) : it->second->signs_requests(bucket);
}

}  // namespace bakrest::storage
