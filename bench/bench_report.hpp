// Shared by every espsec benchmark file: after the Google Benchmark runs, each group prints
// its own summary (ratios to same-run baselines) from the measured seconds per iteration.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace espsec::bench {

// Benchmark name -> real seconds per iteration, for every benchmark that ran without error.
using Timings = std::map<std::string, double>;

// Registers a summary printed after all benchmarks ran; returns true so that a file can
// register from a namespace-scope initializer.
bool add_summary(std::function<void(const Timings&)> summary);

}  // namespace espsec::bench
