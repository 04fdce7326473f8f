#pragma once
// The sanitizers slow the loop and the analysis about 4x, the factor by which their test presets scale timeouts.
// A test that paces a simulated instrument against the wall runs that much slower there, or the stage falls off its
// programme for want of the loop, and the test would measure the sanitizer.
namespace insitu::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr double kSanitizerSlowdown = 4.0;
#else
inline constexpr double kSanitizerSlowdown = 1.0;
#endif

// A run clock's speed-up for this build: `speed` in release builds, a quarter of it under the sanitizers.
constexpr double paced_speed(double speed) { return speed / kSanitizerSlowdown; }

}  // namespace insitu::testing
