#include "catalog/session_directory.h"

namespace bakrest::catalog {

SessionDirectory::Registration::Registration(SessionDirectory& directory, SessionRow row)
    : directory_(directory), spid_(row.spid) {
  std::lock_guard lock(directory_.mutex_);
  directory_.rows_[spid_] = std::move(row);
}

SessionDirectory::Registration::~Registration() {
  std::lock_guard lock(directory_.mutex_);
  directory_.rows_.erase(spid_);
}

void SessionDirectory::Registration::update(const std::function<void(SessionRow&)>& fn) {
  std::lock_guard lock(directory_.mutex_);
  auto it = directory_.rows_.find(spid_);
  if (it != directory_.rows_.end()) fn(it->second);
}

std::vector<SessionRow> SessionDirectory::list() const {
  std::lock_guard lock(mutex_);
  std::vector<SessionRow> out;
  out.reserve(rows_.size());
  for (const auto& [spid, row] : rows_) out.push_back(row);
  return out;
}

}  // namespace bakrest::catalog
