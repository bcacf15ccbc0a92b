#include "streams/multi_stream.h"

#include <array>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "common/mutex.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace dnoscope::streams {
namespace {

class CsvSink final : public RowSink {
 public:
  explicit CsvSink(std::unique_ptr<labels::PredictionCsvWriter> writer)
      : writer_(std::move(writer)) {}
  absl::Status Write(const labels::FrameResult& row) override { return writer_->Write(row); }
  absl::Status Close() override { return writer_->Close(); }

 private:
  std::unique_ptr<labels::PredictionCsvWriter> writer_;
};

absl::Status Prefixed(const absl::Status& s, std::string_view stream) {
  return absl::Status(s.code(), fmt::format("stream '{}': {}", stream, std::string(s.message())));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RowSink>> OpenCsvSink(const std::string& path, bool audit_column) {
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<labels::PredictionCsvWriter> writer,
                       labels::PredictionCsvWriter::Open(path, audit_column));
  return std::unique_ptr<RowSink>(new CsvSink(std::move(writer)));
}

struct MultiStreamRun::Stream {
  StreamPlan plan;
  std::unique_ptr<cascade::Cascade> cascade;
  std::unique_ptr<video::FrameSource> source;
  std::unique_ptr<RowSink> sink;
  StreamOutcome outcome;
  std::atomic<bool> done{false};

  mutable Mutex mu;
  // The summary after the last row, from the stream's emitter thread.
  cascade::CascadeSummary so_far ABSL_GUARDED_BY(mu);
  Clock::TimePoint start ABSL_GUARDED_BY(mu){};
  Clock::TimePoint end ABSL_GUARDED_BY(mu){};
  bool failed ABSL_GUARDED_BY(mu) = false;
};

absl::StatusOr<std::unique_ptr<MultiStreamRun>> MultiStreamRun::Create(
    std::vector<StreamPlan> plans, cascade::Stages stages, const cascade::CascadeOptions& options,
    StreamIo io, Clock* clock) {
  if (plans.empty()) return absl::InvalidArgumentError("no streams to run");
  if (!io.open_source) {
    io.open_source = [](const StreamPlan& p) { return video::OpenFrameSource(p.source); };
  }
  if (!io.open_sink) {
    const bool audit_column = options.audit.rate > 0;
    io.open_sink = [audit_column](const StreamPlan& p) { return OpenCsvSink(p.out, audit_column); };
  }
  std::vector<std::unique_ptr<Stream>> streams;
  for (StreamPlan& plan : plans) {
    auto s = std::make_unique<Stream>();
    s->plan = std::move(plan);
    const std::string& name = s->plan.name;
    cascade::Stages own = stages;
    // A stream whose config has no specialized model skips that stage.
    if (!s->plan.config.specialized_enabled()) own.specialized = nullptr;
    absl::StatusOr<std::unique_ptr<cascade::Cascade>> c =
        cascade::Cascade::Create(s->plan.config, options, own, clock);
    if (!c.ok()) return Prefixed(c.status(), name);
    s->cascade = *std::move(c);
    absl::StatusOr<std::unique_ptr<video::FrameSource>> source = io.open_source(s->plan);
    if (!source.ok()) return Prefixed(source.status(), name);
    s->source = *std::move(source);
    s->outcome.name = name;
    s->outcome.video = s->source->info();
    streams.push_back(std::move(s));
  }
  // Sinks last: no output file is created when a source cannot be opened.
  for (auto& s : streams) {
    absl::StatusOr<std::unique_ptr<RowSink>> sink = io.open_sink(s->plan);
    if (!sink.ok()) return Prefixed(sink.status(), s->plan.name);
    s->sink = *std::move(sink);
  }
  return std::unique_ptr<MultiStreamRun>(new MultiStreamRun(std::move(streams), clock));
}

MultiStreamRun::MultiStreamRun(std::vector<std::unique_ptr<Stream>> streams, Clock* clock)
    : streams_(std::move(streams)), clock_(clock) {}

MultiStreamRun::~MultiStreamRun() = default;

void MultiStreamRun::RunStream(Stream& s) {
  {
    MutexLock lock(&s.mu);
    s.start = clock_->Now();
  }
  auto on_result = [&s](const labels::FrameResult& row) { return s.sink->Write(row); };
  auto on_progress = [&s](const cascade::CascadeSummary& summary) {
    MutexLock lock(&s.mu);
    s.so_far = summary;
  };
  absl::StatusOr<cascade::CascadeSummary> ran = s.cascade->Run(*s.source, on_result, on_progress);
  const absl::Status closed = s.sink->Close();
  const Clock::TimePoint end = clock_->Now();
  StreamOutcome& o = s.outcome;
  o.report = s.cascade->report();
  MutexLock lock(&s.mu);
  s.end = end;
  if (ran.ok()) {
    o.summary = *ran;
    o.status = closed;
  } else {
    o.summary = s.so_far;
    o.summary.wall_seconds = SecondsBetween(s.start, end);
    o.summary.frames_per_second =
        o.summary.wall_seconds > 0 ? o.summary.frames / o.summary.wall_seconds : 0;
    o.status = ran.status();
  }
  s.failed = !o.status.ok();
  s.done = true;
}

MultiStreamSummary MultiStreamRun::Run(const std::function<void()>& on_tick,
                                       std::chrono::milliseconds tick_period) {
  const Clock::TimePoint start = clock_->Now();
  Mutex mu;
  CondVar all_done;
  int running = static_cast<int>(streams_.size());
  {
    std::vector<std::jthread> threads;
    for (auto& s : streams_) {
      threads.emplace_back([this, &s, &mu, &all_done, &running] {
        RunStream(*s);
        MutexLock lock(&mu);
        --running;
        all_done.SignalAll();
      });
    }
    while (true) {
      {
        MutexLock lock(&mu);
        const Clock::TimePoint next =
            on_tick ? clock_->Now() + tick_period : Clock::TimePoint::max();
        while (running > 0 && !clock_->WaitUntil(&mu, &all_done, next)) {
        }
        if (running == 0) break;
      }
      on_tick();
    }
  }  // joins
  MultiStreamSummary summary;
  summary.wall_seconds = SecondsBetween(start, clock_->Now());
  for (auto& s : streams_) {
    summary.frames += s->outcome.summary.frames;
    if (!s->outcome.status.ok()) ++summary.failed_streams;
    summary.streams.push_back(s->outcome);
  }
  summary.frames_per_second = summary.wall_seconds > 0 ? summary.frames / summary.wall_seconds : 0;
  return summary;
}

std::vector<StreamStatus> MultiStreamRun::Statuses() const {
  std::vector<StreamStatus> out;
  const Clock::TimePoint now = clock_->Now();
  for (const auto& s : streams_) {
    StreamStatus st;
    st.name = s->plan.name;
    MutexLock lock(&s->mu);
    st.frames = s->so_far.frames;
    st.finished = s->done;
    st.failed = s->failed;
    const Clock::TimePoint until = st.finished ? s->end : now;
    const double seconds = s->start == Clock::TimePoint{} ? 0 : SecondsBetween(s->start, until);
    st.frames_per_second = seconds > 0 ? st.frames / seconds : 0;
    out.push_back(std::move(st));
  }
  return out;
}

std::string ProgressLine(const std::vector<StreamStatus>& statuses) {
  std::string line;
  double total = 0;
  for (const StreamStatus& s : statuses) {
    const std::string late =
        s.lateness_ms ? fmt::format("{:.0f} ms", *s.lateness_ms) : std::string("-");
    const char* state = s.failed ? " FAILED" : s.finished ? " done" : "";
    line += fmt::format("{} {} f {:.1f} f/s late {}{} | ", s.name, s.frames, s.frames_per_second,
                        late, state);
    if (!s.finished) total += s.frames_per_second;
  }
  return line + fmt::format("all {:.1f} f/s", total);
}

std::string MultiStreamSummaryToJson(const MultiStreamSummary& summary) {
  nlohmann::json streams = nlohmann::json::array();
  std::array<int64_t, labels::kNumFrameStatuses> counts{};
  for (const StreamOutcome& o : summary.streams) {
    nlohmann::json j = nlohmann::json::parse(cascade::SummaryToJson(o.summary, o.video));
    j["name"] = o.name;
    j["status"] = o.status.ok() ? "ok" : "failed";
    if (!o.status.ok()) j["error"] = std::string(o.status.message());
    j["stages"] = nlohmann::json::parse(cascade::ReportToJson(o.report));
    streams.push_back(std::move(j));
    for (int i = 0; i < labels::kNumFrameStatuses; ++i) counts[i] += o.summary.status_counts[i];
  }
  nlohmann::json status_counts = nlohmann::json::object();
  for (int i = 0; i < labels::kNumFrameStatuses; ++i) {
    status_counts[std::string(labels::FrameStatusName(static_cast<labels::FrameStatus>(i)))] =
        counts[i];
  }
  nlohmann::json aggregate = {{"streams", summary.streams.size()},
                              {"failed_streams", summary.failed_streams},
                              {"frames", summary.frames},
                              {"wall_seconds", summary.wall_seconds},
                              {"frames_per_second", summary.frames_per_second},
                              {"status_counts", status_counts}};
  nlohmann::json out = {{"streams", streams}, {"aggregate", aggregate}};
  return out.dump(2);
}

std::string MultiStreamSummaryToTable(const MultiStreamSummary& summary) {
  std::string out = fmt::format("{:<16} {:>8} {:>9} {:>8} {:>8}  {}\n", "stream", "frames",
                                "frames/s", "positive", "wall s", "status");
  for (const StreamOutcome& o : summary.streams) {
    out += fmt::format("{:<16} {:>8} {:>9.1f} {:>8} {:>8.2f}  {}\n", o.name, o.summary.frames,
                       o.summary.frames_per_second, o.summary.positive_frames,
                       o.summary.wall_seconds,
                       o.status.ok() ? std::string("ok") : "FAILED: " + std::string(o.status.message()));
  }
  out += fmt::format("{:<16} {:>8} {:>9.1f} {:>8} {:>8.2f}  {} of {} streams failed\n", "all",
                     summary.frames, summary.frames_per_second, "", summary.wall_seconds,
                     summary.failed_streams, summary.streams.size());
  return out;
}

}  // namespace dnoscope::streams
