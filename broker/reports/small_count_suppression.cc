#include "broker/reports/small_count_suppression.h"

#include <optional>

namespace hart::reports {
namespace {

bool Suppressed(const CountCell& cell) {
  return cell.suppression != v1::ReportCount::NOT_SUPPRESSED;
}

// The member of `sum` to suppress next to its one suppressed member: the
// smallest published non-zero part (ties: the first), else the total.
std::optional<size_t> Complement(const std::vector<CountCell>& cells, const PublishedSum& sum) {
  std::optional<size_t> best;
  for (size_t i : sum.parts) {
    const CountCell& c = cells[i];
    if (Suppressed(c) || c.count == 0) continue;
    if (!best || c.count < cells[*best].count) best = i;
  }
  if (!best && !Suppressed(cells[sum.total]) && cells[sum.total].count > 0) best = sum.total;
  return best;
}

size_t SuppressedMembers(const std::vector<CountCell>& cells, const PublishedSum& sum) {
  size_t n = Suppressed(cells[sum.total]) ? 1 : 0;
  for (size_t i : sum.parts) n += Suppressed(cells[i]) ? 1 : 0;
  return n;
}

}  // namespace

void SuppressSmallCounts(std::vector<CountCell>& cells, const std::vector<PublishedSum>& sums,
                         uint32_t threshold) {
  for (CountCell& cell : cells) {
    if (cell.count > 0 && cell.count < threshold) {
      cell.suppression = v1::ReportCount::BELOW_THRESHOLD;
    }
  }
  // Each round suppresses one more cell or ends: at most cells.size() rounds.
  for (bool changed = true; changed;) {
    changed = false;
    for (const PublishedSum& sum : sums) {
      if (SuppressedMembers(cells, sum) != 1) continue;
      if (auto next = Complement(cells, sum)) {
        cells[*next].suppression = v1::ReportCount::COMPLEMENTARY;
        changed = true;
      }
    }
  }
}

v1::ReportCount ToProtoCount(const CountCell& cell) {
  v1::ReportCount out;
  out.set_key(cell.key);
  out.set_group(cell.group);
  out.set_suppression(cell.suppression);
  if (!Suppressed(cell)) out.set_count(cell.count);
  return out;
}

}  // namespace hart::reports
