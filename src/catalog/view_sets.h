// The catalog's views, grouped by what they describe. Internal to catalog/.
#pragma once

#include <vector>

#include "catalog/catalog.h"

namespace bakrest::catalog {

// sys.dm_exec_sessions, sys.dm_exec_connections (session_views.cc).
void add_session_views(std::vector<ViewDefinition>& out);

}  // namespace bakrest::catalog
