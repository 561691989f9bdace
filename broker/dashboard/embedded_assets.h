// The dashboard's files (broker/dashboard/assets/), compiled into the
// binary by embed_assets.cmake.
#pragma once

#include <string_view>
#include <vector>

namespace hart::dashboard {

struct EmbeddedAsset {
  std::string_view name;  // the file name, e.g. "dashboard.js"
  std::string_view bytes;
};

// Sorted by name.
const std::vector<EmbeddedAsset>& EmbeddedAssets();

}  // namespace hart::dashboard
