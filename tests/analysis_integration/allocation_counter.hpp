#pragma once
// Test helper: the test binary replaces global operator new to count heap allocations, so tests can
// check that a code path makes none.
#include <cstddef>

namespace insitu::analysis::testing {
std::size_t allocation_count();
}
