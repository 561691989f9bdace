#include "broker/store/sqlite/sqlite_fault_rules.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace hart::sqlite {
namespace {

absl::Status LineError(size_t line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("fault rules line ", line, ": ", what));
}

// One `key=value` option of a rule.
absl::Status ApplyOption(size_t line, absl::string_view word, FaultRule& rule) {
  const std::vector<absl::string_view> kv = absl::StrSplit(word, absl::MaxSplits('=', 1));
  if (kv.size() != 2) return LineError(line, absl::StrCat("expected key=value, got '", word, "'"));
  if (kv[0] == "file") {
    if (kv[1] == "db") {
      rule.file = FaultFile::kDb;
    } else if (kv[1] == "wal") {
      rule.file = FaultFile::kWal;
    } else {
      return LineError(line, "file is db or wal");
    }
    return absl::OkStatus();
  }
  uint64_t n = 0;
  if (!absl::SimpleAtoi(kv[1], &n)) return LineError(line, absl::StrCat(kv[0], " needs a number"));
  if (kv[0] == "skip") {
    rule.skip = n;
  } else if (kv[0] == "count") {
    rule.count = n;
  } else {
    return LineError(line, absl::StrCat("unknown option '", kv[0], "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<FaultRule> ParseRule(size_t line, const std::vector<absl::string_view>& words) {
  FaultRule rule;
  if (words[0] == "sync") {
    rule.op = FaultOp::kSync;
  } else if (words[0] == "write") {
    rule.op = FaultOp::kWrite;
  } else {
    return LineError(line, "a rule starts with sync or write");
  }
  if (words.size() < 2) return LineError(line, "missing the effect (fail, short or full)");
  if (words[1] == "fail") {
    rule.effect = FaultEffect::kFail;
  } else if (words[1] == "short" && rule.op == FaultOp::kWrite) {
    rule.effect = FaultEffect::kShort;
  } else if (words[1] == "full" && rule.op == FaultOp::kWrite) {
    rule.effect = FaultEffect::kFull;
  } else {
    return LineError(line, "sync takes fail; write takes fail, short or full");
  }
  for (size_t i = 2; i < words.size(); ++i) {
    if (auto s = ApplyOption(line, words[i], rule); !s.ok()) return s;
  }
  return rule;
}

}  // namespace

absl::StatusOr<std::vector<FaultRule>> ParseFaultRules(absl::string_view text) {
  std::vector<FaultRule> rules;
  size_t line = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line;
    absl::string_view content = raw.substr(0, raw.find('#'));
    const std::vector<absl::string_view> words =
        absl::StrSplit(content, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    auto rule = ParseRule(line, words);
    if (!rule.ok()) return rule.status();
    rules.push_back(*rule);
  }
  return rules;
}

FaultRules::FaultRules(const std::vector<FaultRule>& rules) {
  for (const FaultRule& rule : rules) rules_.push_back({rule, 0});
}

std::optional<FaultEffect> FaultRules::Decide(FaultOp op, FaultFile file) {
  for (State& state : rules_) {
    const FaultRule& rule = state.rule;
    if (rule.op != op || (rule.file != FaultFile::kAny && rule.file != file)) continue;
    const uint64_t n = state.seen++;
    if (n < rule.skip) return std::nullopt;
    if (rule.count && n - rule.skip >= *rule.count) return std::nullopt;  // spent
    return rule.effect;
  }
  return std::nullopt;
}

}  // namespace hart::sqlite
