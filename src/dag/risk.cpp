#include "dag/risk.hpp"

#include <array>

namespace sup::dag {
namespace {

constexpr std::array<std::string_view, 4> kRiskNames = {"low", "medium", "high", "critical"};

}  // namespace

std::string_view to_string(Risk risk) {
  return kRiskNames[static_cast<std::size_t>(risk)];
}

std::optional<Risk> risk_from_string(std::string_view text) {
  for (std::size_t i = 0; i < kRiskNames.size(); ++i)
    if (kRiskNames[i] == text) return static_cast<Risk>(i);
  return std::nullopt;
}

}  // namespace sup::dag
