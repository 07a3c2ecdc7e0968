// A node's declared risk: it picks the node's retry defaults (retry.hpp)
// and its place among ready nodes (ready_queue.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sup::dag {

enum class Risk : std::uint8_t { Low, Medium, High, Critical };

// "low", "medium", "high", "critical": the spelling in specs and JSON.
std::string_view to_string(Risk risk);
std::optional<Risk> risk_from_string(std::string_view text);
inline constexpr std::string_view kRiskChoices = "low, medium, high, critical";

// Scheduling weight: a riskier ready node starts first (a failure that will
// stop the execution shows up early, before cheap work piles up behind it).
constexpr std::uint32_t risk_weight(Risk risk) {
  return static_cast<std::uint32_t>(risk) + 1;
}

}  // namespace sup::dag
