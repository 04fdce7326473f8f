#pragma once
// Number crunching (frame analysis, simulated detector rendering) runs at a lower scheduling priority than the
// event loop, so that on a busy machine the loop still stamps triggers and stage readings when they happen.

namespace insitu::io {

// Raises the calling thread's nice value by `increment` (Linux: nice is per thread). Best effort: a failure
// leaves the priority as it was.
void lower_this_thread_priority(int increment = 10);

}  // namespace insitu::io
