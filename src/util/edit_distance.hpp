#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pycache_clean {

// Levenshtein distance between `a` and `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is within `max_distance` edits and
// the only one that close; empty otherwise.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates,
                          std::size_t max_distance = 2);

}  // namespace pycache_clean
