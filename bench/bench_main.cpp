// The espsec_bench entry point: runs every registered benchmark, then each group's summary.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>
#include <vector>

#include "bench_report.hpp"

namespace espsec::bench {
namespace {

std::vector<std::function<void(const Timings&)>>& summaries() {
  static std::vector<std::function<void(const Timings&)>> all;
  return all;
}

class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      // With --benchmark_repetitions the median stands for the benchmark (the machine may be
      // shared); without, the single run does.
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if ((run.run_type != Run::RT_Iteration && !median) || run.error_occurred) continue;
      // Names without the "/real_time" suffix UseRealTime() adds, nor the "_median" one.
      std::string name = run.benchmark_name();
      if (median && name.ends_with("_median")) name.resize(name.size() - 7);
      if (const auto at = name.find("/real_time"); at != std::string::npos) name.erase(at);
      timings[name] = run.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  Timings timings;
};

}  // namespace

bool add_summary(std::function<void(const Timings&)> summary) {
  summaries().push_back(std::move(summary));
  return true;
}

}  // namespace espsec::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  espsec::bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (const auto& summary : espsec::bench::summaries()) summary(reporter.timings);
  benchmark::Shutdown();
  return 0;
}
