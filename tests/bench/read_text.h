// A whole (small) file as it is on disk: a log, a /proc file, an example
// intake. Empty when it cannot be read; callers that must tell the two
// apart check the file themselves.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace hart::bench {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace hart::bench
