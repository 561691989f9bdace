// The parameters of a request's query string ("a=1&b=x%20y"), decoded
// (percent escapes, '+' as space). A repeated name keeps its first value.
#pragma once

#include <map>
#include <string>

namespace hart::dashboard {

std::map<std::string, std::string> ParseQuery(const std::string& query);

}  // namespace hart::dashboard
