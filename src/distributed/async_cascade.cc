#include "distributed/async_cascade.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/bounded_queue.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace dnoscope::distributed {

using cascade::CascadeSummary;
using labels::FrameResult;
using labels::FrameStatus;

namespace {

// How a frame gets its label.
enum class Source {
  kInherit,  // skipped or corrupt: the previous row's label
  kReused,   // difference detector: its reference frame's label
  kModel,    // the specialized and/or reference stage
};

struct Entry {
  FrameResult result;
  Source source = Source::kModel;
  int64_t reuse_frame = -1;
  // Set once the label (or the error) is known; guarded by Impl::mu.
  bool ready = false;
  absl::Status error;
  Clock::TimePoint decoded{};
  // Full frame, kept while the reference stage may still need it.
  cv::Mat image;
};

struct DecodedFrame {
  video::Frame frame;
  Clock::TimePoint decoded{};
};

struct SpecItem {
  Entry* entry = nullptr;
  cv::Mat crop;
};

LatencySummary Summarize(const LatencyHistogram& h) {
  LatencySummary s;
  s.count = h.count();
  s.p50_ms = h.Percentile(50) / 1000;
  s.p90_ms = h.Percentile(90) / 1000;
  s.p99_ms = h.Percentile(99) / 1000;
  s.max_ms = h.max_us() / 1000;
  return s;
}

absl::Status Annotate(const absl::Status& s, std::string_view stage, int64_t frame) {
  return absl::Status(s.code(), fmt::format("{} stage failed on frame {}: {}", stage, frame,
                                            std::string(s.message())));
}

// The FP32 output holding one confidence per batch row.
absl::StatusOr<std::span<const float>> Confidences(const std::vector<Tensor>& outputs, size_t n) {
  for (const Tensor& t : outputs) {
    if (t.dtype == DataType::kFp32 && t.NumElements() == static_cast<int64_t>(n) &&
        t.Validate().ok()) {
      return t.Values<float>();
    }
  }
  return absl::InternalError(
      fmt::format("specialized model returned no FP32 output with {} confidence(s)", n));
}

}  // namespace

struct AsyncCascade::Impl {
  cascade::CascadeConfig config;
  AsyncCascadeOptions options;
  std::unique_ptr<ModelStage> specialized;
  std::unique_ptr<ModelStage> reference;
  std::unique_ptr<detect::DifferenceDetector> diff;  // fresh for every run
  cv::Mat diff_background;
  Clock* clock = nullptr;

  // --- state of one run ---
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Entry>> window ABSL_GUARDED_BY(mu);
  int model_frames ABSL_GUARDED_BY(mu) = 0;
  int outstanding ABSL_GUARDED_BY(mu) = 0;  // stage requests not completed
  bool input_done ABSL_GUARDED_BY(mu) = false;
  bool aborted ABSL_GUARDED_BY(mu) = false;
  std::deque<Entry*> reference_jobs ABSL_GUARDED_BY(mu);
  // Report figures.
  LatencyHistogram spec_latency ABSL_GUARDED_BY(mu);
  LatencyHistogram ref_latency ABSL_GUARDED_BY(mu);
  LatencyHistogram model_frame_latency ABSL_GUARDED_BY(mu);
  LatencyHistogram end_to_end ABSL_GUARDED_BY(mu);
  int64_t spec_requests ABSL_GUARDED_BY(mu) = 0;
  int64_t spec_frames ABSL_GUARDED_BY(mu) = 0;
  int64_t ref_requests ABSL_GUARDED_BY(mu) = 0;
  // Wall time during which a stage had at least one request outstanding.
  struct Busy {
    int outstanding = 0;
    Clock::TimePoint since{};
    double seconds = 0;
    void Start(Clock::TimePoint now) {
      if (outstanding++ == 0) since = now;
    }
    void Stop(Clock::TimePoint now) {
      if (--outstanding == 0) seconds += SecondsBetween(since, now);
    }
  };
  Busy spec_busy ABSL_GUARDED_BY(mu);
  Busy ref_busy ABSL_GUARDED_BY(mu);
  double preprocess_seconds ABSL_GUARDED_BY(mu) = 0;
  double difference_seconds ABSL_GUARDED_BY(mu) = 0;

  // --- emitter-only state ---
  CascadeSummary summary;
  bool last_label = false;
  int64_t last_model_frame = -1;
  bool last_model_label = false;
  std::deque<std::pair<int64_t, bool>> recent;

  void ResetRun() ABSL_LOCKS_EXCLUDED(mu) {
    std::lock_guard lock(mu);
    window.clear();
    model_frames = outstanding = 0;
    input_done = aborted = false;
    reference_jobs.clear();
    spec_latency = ref_latency = model_frame_latency = end_to_end = LatencyHistogram();
    spec_requests = spec_frames = ref_requests = 0;
    spec_busy = ref_busy = Busy();
    preprocess_seconds = difference_seconds = 0;
    summary = CascadeSummary();
    last_label = last_model_label = false;
    last_model_frame = -1;
    recent.clear();
  }

  // ---------------------------------------------------------------- edge
  absl::Status EdgeLoop(BoundedQueue<DecodedFrame>& queue) {
    const int max_batch = std::max(1, options.specialized_batching.max_batch);
    BatchingOptions batching = options.specialized_batching;
    const int model_max = specialized ? specialized->metadata().max_batch_size : 0;
    batching.max_batch = model_max > 0 ? std::min(max_batch, model_max) : max_batch;
    ClientBatcher<SpecItem> batcher(batching);
    cv::Mat diff_input;
    while (true) {
      std::optional<DecodedFrame> item;
      if (std::optional<Clock::TimePoint> deadline = batcher.Deadline()) {
        bool timed_out = false;
        item = queue.PopUntil(clock, *deadline, &timed_out);
        if (timed_out) {
          if (auto batch = batcher.Flush()) SubmitSpecialized(std::move(*batch));
          continue;
        }
      } else {
        item = queue.Pop();
      }
      if (!item) break;
      // Room in the window (and in the model stages) before taking a frame in.
      if (!WaitForRoom(batcher)) break;
      auto entry = std::make_unique<Entry>();
      Entry* e = entry.get();
      const video::Frame& frame = item->frame;
      e->result.frame = frame.index;
      e->decoded = item->decoded;
      std::optional<SpecItem> spec;
      if (!frame.sampled || frame.corrupt) {
        e->source = Source::kInherit;
        e->result.status = frame.corrupt ? FrameStatus::kCorrupt : FrameStatus::kSkipped;
        e->ready = true;
      } else {
        bool changed = true;
        if (diff) {
          const Clock::TimePoint t0 = clock->Now();
          video::CropAndResize(frame.image, config.roi, config.diff.width, config.diff.height,
                               options.interpolation, &diff_input);
          const Clock::TimePoint t1 = clock->Now();
          const detect::DiffDecision d = diff->Process(frame.index, diff_input);
          const Clock::TimePoint t2 = clock->Now();
          {
            std::lock_guard lock(mu);
            preprocess_seconds += SecondsBetween(t0, t1);
            difference_seconds += SecondsBetween(t1, t2);
          }
          e->result.diff_score = static_cast<float>(d.score);
          if (!d.changed) {
            changed = false;
            e->source = Source::kReused;
            e->reuse_frame = d.reuse_frame;
            e->result.status = FrameStatus::kDiffReused;
            e->ready = true;
          }
        }
        if (changed) {
          e->source = Source::kModel;
          e->image = frame.image;
          if (specialized) {
            SpecItem s{e, cv::Mat()};
            const Clock::TimePoint t0 = clock->Now();
            video::CropAndResize(frame.image, config.roi, config.specialized_width,
                                 config.specialized_height, options.interpolation, &s.crop);
            const double seconds = SecondsBetween(t0, clock->Now());
            std::lock_guard lock(mu);
            preprocess_seconds += seconds;
            spec = std::move(s);
          }
        }
      }
      // Once in the window a ready entry may be emitted and freed at any
      // moment: read what is needed first.
      const bool wake = e->ready || (e->source == Source::kModel && !specialized);
      {
        std::lock_guard lock(mu);
        if (e->source == Source::kModel) {
          ++model_frames;
          if (!specialized) reference_jobs.push_back(e);
        }
        window.push_back(std::move(entry));
      }
      if (wake) cv.notify_all();
      if (spec) {
        if (auto batch = batcher.Add(std::move(*spec), clock->Now())) {
          SubmitSpecialized(std::move(*batch));
        } else if (batching.max_delay.count() == 0) {
          // No delay allowed: batch only what is already decoded; the
          // timed pop above sends the batch once the queue runs dry.
        } else if (auto due = batcher.TakeIfDue(clock->Now())) {
          SubmitSpecialized(std::move(*due));
        }
      }
    }
    if (auto batch = batcher.Flush()) SubmitSpecialized(std::move(*batch));
    return absl::OkStatus();
  }

  // Blocks until the window and the model stages have room; false when the
  // run was aborted. Sends a partial batch first: its frames may be what the
  // emitter is waiting for.
  bool WaitForRoom(ClientBatcher<SpecItem>& batcher) {
    auto has_room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return aborted || (static_cast<int>(window.size()) < options.max_window_frames &&
                         model_frames < options.max_model_frames);
    };
    {
      std::lock_guard lock(mu);
      if (has_room()) return !aborted;
    }
    if (auto batch = batcher.Flush()) SubmitSpecialized(std::move(*batch));
    std::unique_lock lock(mu);
    cv.wait(lock, has_room);
    return !aborted;
  }

  void SubmitSpecialized(std::vector<SpecItem> batch) {
    std::vector<cv::Mat> crops;
    std::vector<int64_t> indices;
    std::vector<Entry*> entries;
    for (SpecItem& s : batch) {
      crops.push_back(std::move(s.crop));
      indices.push_back(s.entry->result.frame);
      entries.push_back(s.entry);
    }
    std::vector<Tensor> inputs = BuildSpecializedRequest(crops, indices, specialized->metadata());
    const Clock::TimePoint t0 = clock->Now();
    {
      std::lock_guard lock(mu);
      ++outstanding;
      ++spec_requests;
      spec_frames += static_cast<int64_t>(entries.size());
      spec_busy.Start(t0);
    }
    specialized->InferAsync(std::move(inputs),
                            [this, entries = std::move(entries), t0](auto result) {
                              OnSpecialized(entries, t0, std::move(result));
                            });
  }

  void OnSpecialized(const std::vector<Entry*>& entries, Clock::TimePoint t0,
                     absl::StatusOr<std::vector<Tensor>> result) {
    const Clock::TimePoint now = clock->Now();
    absl::StatusOr<std::span<const float>> conf =
        result.ok() ? Confidences(*result, entries.size())
                    : absl::StatusOr<std::span<const float>>(result.status());
    {
      std::lock_guard lock(mu);
      --outstanding;
      spec_latency.Record(now - t0);
      spec_busy.Stop(now);
      for (size_t i = 0; i < entries.size(); ++i) {
        Entry* e = entries[i];
        if (!conf.ok()) {
          Fail(e, Annotate(conf.status(), "specialized", e->result.frame));
          continue;
        }
        const float c = (*conf)[i];
        e->result.specialized_confidence = c;
        if (c <= config.c_low || c >= config.c_high) {
          e->result.status = FrameStatus::kSpecialized;
          e->result.label = c >= config.c_high;
          Done(e, now);
        } else {
          reference_jobs.push_back(e);
        }
      }
    }
    cv.notify_all();
  }

  // ------------------------------------------------------------ dispatch
  // Builds reference payloads (resize, JPEG/PNG: CPU work kept off the I/O
  // threads) and submits them.
  void DispatchLoop() {
    while (true) {
      Entry* e = nullptr;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
          return aborted || !reference_jobs.empty() || (input_done && outstanding == 0);
        });
        if (aborted || reference_jobs.empty()) return;
        e = reference_jobs.front();
        reference_jobs.pop_front();
        ++outstanding;
        ++ref_requests;
      }
      absl::StatusOr<ReferenceRequest> request = BuildReferenceRequest(
          e->image, e->result.frame, reference->metadata(), options.reference_payload);
      if (!request.ok()) {
        {
          std::lock_guard lock(mu);
          --outstanding;
          Fail(e, Annotate(request.status(), "reference", e->result.frame));
        }
        cv.notify_all();
        continue;
      }
      const Clock::TimePoint t0 = clock->Now();
      {
        std::lock_guard lock(mu);
        ref_busy.Start(t0);
      }
      reference->InferAsync(std::move(request->inputs),
                            [this, e, t0, sx = request->scale_x, sy = request->scale_y](auto r) {
                              OnReference(e, t0, sx, sy, std::move(r));
                            });
    }
  }

  void OnReference(Entry* e, Clock::TimePoint t0, double sx, double sy,
                   absl::StatusOr<std::vector<Tensor>> result) {
    const Clock::TimePoint now = clock->Now();
    absl::StatusOr<std::vector<models::BoxDetection>> boxes =
        absl::InternalError("reference model returned no 'detections'");
    if (!result.ok()) {
      boxes = result.status();
    } else {
      const Tensor* t = FindTensor(*result, models::kDetectionsOutput);
      if (t == nullptr && result->size() == 1) t = &(*result)[0];
      if (t != nullptr) boxes = models::DetectionsFromTensor(*t);
    }
    {
      std::lock_guard lock(mu);
      --outstanding;
      ref_latency.Record(now - t0);
      ref_busy.Stop(now);
      if (!boxes.ok()) {
        Fail(e, Annotate(boxes.status(), "reference", e->result.frame));
      } else {
        e->result.status = FrameStatus::kReference;
        e->result.reference_confidence = 0;
        const auto& names = reference->metadata().class_names;
        for (models::BoxDetection b : *boxes) {
          b.x1 = static_cast<float>(b.x1 * sx);
          b.x2 = static_cast<float>(b.x2 * sx);
          b.y1 = static_cast<float>(b.y1 * sy);
          b.y2 = static_cast<float>(b.y2 * sy);
          if (!cascade::MatchesQuery(b, names, config)) continue;
          e->result.label = true;
          e->result.reference_confidence = std::max(e->result.reference_confidence, b.score);
        }
        Done(e, now);
      }
    }
    cv.notify_all();
  }

  void Done(Entry* e, Clock::TimePoint now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    e->ready = true;
    e->image.release();
    --model_frames;
    model_frame_latency.Record(now - e->decoded);
  }

  void Fail(Entry* e, absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    e->error = std::move(status);
    e->ready = true;
    e->image.release();
    --model_frames;
  }

  // ------------------------------------------------------------- emitter
  absl::Status EmitLoop(const cascade::ResultCallback& on_result,
                        const cascade::ProgressCallback& on_progress) {
    while (true) {
      std::unique_ptr<Entry> e;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
          return aborted || (!window.empty() && window.front()->ready) ||
                 (input_done && window.empty());
        });
        if (aborted || window.empty()) return absl::OkStatus();
        e = std::move(window.front());
        window.pop_front();
      }
      cv.notify_all();  // room in the window
      if (!e->error.ok()) return e->error;
      FrameResult& r = e->result;
      switch (e->source) {
        case Source::kInherit:
          r.label = last_label;
          break;
        case Source::kReused: {
          DNS_ASSIGN_OR_RETURN(r.label, LabelOf(e->reuse_frame));
          Remember(r.frame, r.label, /*from_model=*/false);
          break;
        }
        case Source::kModel:
          Remember(r.frame, r.label, /*from_model=*/true);
          break;
      }
      last_label = r.label;
      ++summary.frames;
      ++summary.status_counts[static_cast<int>(r.status)];
      if (r.label) ++summary.positive_frames;
      if (r.status == FrameStatus::kCorrupt) ++summary.corrupt_frames;
      DNS_RETURN_IF_ERROR(on_result(r));
      {
        std::lock_guard lock(mu);
        end_to_end.Record(clock->Now() - e->decoded);
      }
      if (on_progress) on_progress(summary);
    }
  }

  // Mirrors the local cascade's bookkeeping so that reuse resolves alike.
  absl::StatusOr<bool> LabelOf(int64_t frame) const {
    if (frame < 0) return false;  // background mode: the empty scene
    if (frame == last_model_frame) return last_model_label;
    for (const auto& [index, label] : recent) {
      if (index == frame) return label;
    }
    return absl::InternalError(fmt::format("label of reference frame {} is not known", frame));
  }

  void Remember(int64_t frame, bool label, bool from_model) {
    if (from_model) {
      last_model_frame = frame;
      last_model_label = label;
    }
    recent.emplace_back(frame, label);
    const size_t keep = diff ? static_cast<size_t>(diff->options().delta) : 1;
    while (recent.size() > keep) recent.pop_front();
  }

  void Abort() {
    {
      std::lock_guard lock(mu);
      aborted = true;
    }
    cv.notify_all();
  }
};

AsyncCascade::AsyncCascade(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AsyncCascade::~AsyncCascade() {
  if (impl_->specialized) impl_->specialized->Shutdown();
  impl_->reference->Shutdown();
}

absl::StatusOr<std::unique_ptr<AsyncCascade>> AsyncCascade::Create(
    const cascade::CascadeConfig& config, const AsyncCascadeOptions& options,
    std::unique_ptr<ModelStage> specialized, std::unique_ptr<ModelStage> reference, Clock* clock) {
  DNS_RETURN_IF_ERROR(cascade::ValidateCascadeConfig(config));
  DNS_RETURN_IF_ERROR(ValidatePayloadOptions(options.reference_payload));
  if (reference == nullptr) return absl::InvalidArgumentError("cascade needs a reference stage");
  if (config.specialized_enabled() != (specialized != nullptr)) {
    return absl::InvalidArgumentError(
        config.specialized_enabled()
            ? "config names a specialized model but no specialized stage was given"
            : "a specialized stage was given but the config has no specialized model");
  }
  if (options.max_window_frames < 1 || options.max_model_frames < 1 ||
      options.specialized_batching.max_batch < 1 ||
      options.specialized_batching.max_delay.count() < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "window ({} frames), model frames ({}) and batch size ({}) must be >= 1 and the batch "
        "delay >= 0",
        options.max_window_frames, options.max_model_frames,
        options.specialized_batching.max_batch));
  }
  // Roles by outputs: remote metadata carries tensors, not the model's kind.
  auto has_detections = [](const ModelStage& stage) {
    for (const models::TensorSpec& o : stage.metadata().outputs) {
      if (o.name == models::kDetectionsOutput) return true;
    }
    return false;
  };
  if (!has_detections(*reference)) {
    return absl::InvalidArgumentError(fmt::format(
        "reference model '{}' has no '{}' output; the reference stage needs a detector",
        reference->metadata().name, models::kDetectionsOutput));
  }
  if (reference->metadata().class_names.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "reference model '{}' reports no class names, so detections cannot be matched to "
        "'{}' (TF Serving metadata carries none): give the names file (--reference-names)",
        reference->metadata().name, config.object));
  }
  if (specialized && has_detections(*specialized)) {
    return absl::InvalidArgumentError(
        fmt::format("specialized model '{}' is a detector; the specialized stage needs a "
                    "classifier",
                    specialized->metadata().name));
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = options;
  impl->specialized = std::move(specialized);
  impl->reference = std::move(reference);
  impl->clock = clock;
  if (config.diff_enabled) {
    DNS_ASSIGN_OR_RETURN(impl->diff_background, cascade::LoadDiffBackground(config));
    DNS_ASSIGN_OR_RETURN(impl->diff,
                         detect::DifferenceDetector::Create(config.diff, impl->diff_background));
  }
  return std::unique_ptr<AsyncCascade>(new AsyncCascade(std::move(impl)));
}

absl::StatusOr<CascadeSummary> AsyncCascade::Run(video::FrameSource& source,
                                                 const cascade::ResultCallback& on_result,
                                                 const cascade::ProgressCallback& on_progress) {
  Impl& m = *impl_;
  const video::VideoInfo& info = source.info();
  if (m.config.roi) DNS_RETURN_IF_ERROR(CheckRoiInFrame(*m.config.roi, info.width, info.height));
  m.ResetRun();
  if (m.diff) {
    DNS_ASSIGN_OR_RETURN(m.diff, detect::DifferenceDetector::Create(m.config.diff, m.diff_background));
  }
  const Clock::TimePoint start = m.clock->Now();
  BoundedQueue<DecodedFrame> queue(m.options.queue_capacity);

  absl::Status edge_status, emit_status;
  std::jthread emitter([&] {
    emit_status = m.EmitLoop(on_result, on_progress);
    if (!emit_status.ok()) m.Abort();
  });
  std::jthread dispatcher([&] { m.DispatchLoop(); });
  std::jthread edge([&] {
    edge_status = m.EdgeLoop(queue);
    queue.Close();  // unblocks the decoder when the edge stopped early
    {
      std::lock_guard lock(m.mu);
      m.input_done = true;
    }
    m.cv.notify_all();
  });

  double decode_seconds = 0;
  absl::Status decode_status;
  while (true) {
    const Clock::TimePoint t0 = m.clock->Now();
    absl::StatusOr<std::optional<video::Frame>> next = source.Next();
    const Clock::TimePoint t1 = m.clock->Now();
    decode_seconds += SecondsBetween(t0, t1);
    if (!next.ok()) {
      decode_status = next.status();
      break;
    }
    if (!next->has_value() || !queue.Push({std::move(**next), t1})) break;
  }
  queue.Close();
  edge.join();
  emitter.join();
  // Anything still in a stage after an error: stop the work and wait for
  // every callback (they point into the window) before leaving.
  m.Abort();
  dispatcher.join();
  bool pending;
  {
    std::lock_guard lock(m.mu);
    pending = m.outstanding > 0;
  }
  if (pending) {
    if (m.specialized) m.specialized->Shutdown();
    m.reference->Shutdown();
    std::unique_lock lock(m.mu);
    m.cv.wait(lock, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(m.mu) { return m.outstanding == 0; });
  }

  CascadeSummary summary = m.summary;
  {
    std::lock_guard lock(m.mu);
    summary.stage_seconds.preprocess = m.preprocess_seconds;
    summary.stage_seconds.difference = m.difference_seconds;
    summary.stage_seconds.specialized = m.spec_busy.seconds;
    summary.stage_seconds.reference = m.ref_busy.seconds;
  }
  summary.stage_seconds.decode = decode_seconds;
  summary.wall_seconds = SecondsBetween(start, m.clock->Now());
  summary.frames_per_second = summary.wall_seconds > 0 ? summary.frames / summary.wall_seconds : 0;
  if (!emit_status.ok()) {
    const int64_t written = summary.frames;
    return absl::Status(
        emit_status.code(),
        fmt::format("{} ({} rows written before it)", std::string(emit_status.message()), written));
  }
  if (!edge_status.ok()) return edge_status;
  if (!decode_status.ok()) return decode_status;
  return summary;
}

DistributedReport AsyncCascade::report() const {
  const Impl& m = *impl_;
  // Stage figures first, without holding mu: a stage may take its own locks.
  auto stage_report = [](std::string name, const ModelStage& stage) {
    StageReport s;
    s.stage = std::move(name);
    s.description = stage.Describe();
    s.stats = stage.stats();
    for (const StageEndpointStats& e : s.stats.endpoints) s.bytes_sent += e.bytes_sent;
    return s;
  };
  DistributedReport r;
  if (m.specialized) r.stages.push_back(stage_report("specialized", *m.specialized));
  r.stages.push_back(stage_report("reference", *m.reference));
  std::lock_guard lock(m.mu);
  StageReport& ref = r.stages.back();
  ref.requests = ref.frames = m.ref_requests;
  ref.latency = Summarize(m.ref_latency);
  if (m.specialized) {
    StageReport& spec = r.stages.front();
    spec.requests = m.spec_requests;
    spec.frames = m.spec_frames;
    spec.latency = Summarize(m.spec_latency);
  }
  r.model_frame_latency = Summarize(m.model_frame_latency);
  r.end_to_end_latency = Summarize(m.end_to_end);
  return r;
}

std::string AsyncCascade::InFlightLine() const {
  const Impl& m = *impl_;
  auto describe = [](std::string_view tag, const ModelStage& stage) {
    const StageStats s = stage.stats();
    int total = 0;
    std::string parts;
    for (const StageEndpointStats& e : s.endpoints) {
      total += e.in_flight;
      if (s.endpoints.size() > 1) {
        parts += fmt::format("{}{}:{}{}", parts.empty() ? "" : " ", e.name, e.in_flight,
                             e.ejected ? "!" : "");
      }
    }
    return parts.empty() ? fmt::format("{} {}", tag, total)
                         : fmt::format("{} {} ({})", tag, total, parts);
  };
  std::string line;
  if (m.specialized) line = describe("spec", *m.specialized) + " ";
  return line + describe("ref", *m.reference);
}

}  // namespace dnoscope::distributed
