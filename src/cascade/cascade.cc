#include "cascade/cascade.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "cascade/policy.h"
#include "common/bounded_queue.h"
#include "common/histogram.h"
#include "common/mutex.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "models/signature.h"
#include "spdlog/spdlog.h"

namespace dnoscope::cascade {

using labels::FrameResult;

namespace {

// A frame between decode and emit.
struct Entry {
  FrameResult result;
  Routing routing;
  // Set once the label (or the error) is known; guarded by RunState::mu_.
  bool ready = false;
  // The frontier setting the frame is decided under (drift.h).
  int step = 0;
  // Goes to the specialized stage before (maybe) the reference.
  bool to_specialized = false;
  // Audited: its audit is not back yet; the reference's label once it is
  // (none when the audit failed). Guarded by RunState::mu_.
  bool awaiting_audit = false;
  std::optional<bool> audit_label;
  absl::Status error;
  Clock::TimePoint decoded{};
  // Full frame, kept while the reference stage (or the audit) may still
  // need it.
  cv::Mat image;
};

// A frame the audit sends to the reference at low priority; its entry
// stays in the window until the audit is back.
struct AuditJob {
  Entry* entry = nullptr;
  cv::Mat image;
};

// Whether the emitter may take the entry: labelled (or failed) and not
// waiting for its audit.
bool Emittable(const Entry& e) { return e.ready && !e.awaiting_audit; }

// What the dispatcher submits next: a frame the reference decides, or an
// audit.
struct ReferenceJob {
  Entry* entry = nullptr;
  std::optional<AuditJob> audit;
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

// Per-stage figures of one run.
struct StageFigures {
  LatencyHistogram latency;
  int64_t requests = 0;
  int64_t frames = 0;
  Busy busy;
};

absl::Status CheckOptions(const CascadeOptions& o) {
  DNS_RETURN_IF_ERROR(ValidatePayloadOptions(o.reference_payload));
  DNS_RETURN_IF_ERROR(ValidateAuditOptions(o.audit));
  if (o.drift.mode != DriftMode::kOff) {
    DNS_RETURN_IF_ERROR(ValidateDriftOptions(o.drift));
    if (!(o.audit.rate > 0)) {
      return absl::InvalidArgumentError(
          "a drift response judges the audit's estimates: it needs an audit rate > 0");
    }
  }
  if (o.max_window_frames < 1 || o.max_model_frames < 1 || o.specialized_batching.max_batch < 1 ||
      o.specialized_batching.max_delay.count() < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "window ({} frames), model frames ({}) and batch size ({}) must be >= 1 and the batch "
        "delay >= 0",
        o.max_window_frames, o.max_model_frames, o.specialized_batching.max_batch));
  }
  return absl::OkStatus();
}

}  // namespace

// What every run of a cascade shares; immutable after Create.
struct Cascade::Shared {
  CascadeConfig config;
  CascadeOptions options;
  Stages stages;
  PolicyOptions policy;
  // The settings a drift response steps along (DriftFrontier).
  std::vector<OperatingPoint> frontier;
  std::optional<models::ClassifierSignature> classifier;
  models::DetectorSignature detector;
  cv::Mat diff_background;
  Clock* clock = nullptr;
  // The current (or last) run, for report() from other threads.
  mutable Mutex run_mu;
  std::shared_ptr<RunState> run ABSL_GUARDED_BY(run_mu);
};

// The state of one Run(): threads, reorder window, label memory, figures.
// Stage callbacks hold a reference: a callback still signalling after the
// run drained must not find the run's condition variables destroyed.
class Cascade::RunState : public std::enable_shared_from_this<Cascade::RunState> {
 public:
  explicit RunState(const Shared& shared)
      : s_(shared),
        policy_(shared.policy),
        cancelled_(std::make_shared<std::atomic<bool>>(false)) {
    if (shared.options.drift.mode != DriftMode::kOff) {
      MutexLock lock(&mu_);
      drift_.emplace(shared.options.drift, shared.frontier, shared.options.max_window_frames);
    }
  }

  absl::Status Init() {
    if (!s_.config.diff_enabled) return absl::OkStatus();
    DNS_ASSIGN_OR_RETURN(diff_,
                         detect::DifferenceDetector::Create(s_.config.diff, s_.diff_background));
    return absl::OkStatus();
  }

  absl::StatusOr<CascadeSummary> Run(video::FrameSource& source, const ResultCallback& on_result,
                                     const ProgressCallback& on_progress);
  RunReport Report() const;

 private:
  // Edge thread.
  absl::Status EdgeLoop(BoundedQueue<DecodedFrame>& queue);
  std::unique_ptr<Entry> Admit(DecodedFrame& item, int step, std::optional<SpecItem>* spec);
  void Enter(std::unique_ptr<Entry> entry);
  void AddToBatch(ClientBatcher<SpecItem>& batcher, SpecItem item);
  bool WaitForRoom(ClientBatcher<SpecItem>& batcher, bool may_need_models, int64_t frame,
                   int* step);
  void SubmitSpecialized(std::vector<SpecItem> batch);
  void OnSpecialized(const std::vector<Entry*>& entries, Clock::TimePoint t0,
                     absl::StatusOr<std::vector<Tensor>> result);
  // Dispatch thread.
  void DispatchLoop();
  std::optional<ReferenceJob> NextReferenceJob();
  void SubmitReference(Entry* e);
  void SubmitAudit(AuditJob job);
  // Sends `request` to the reference stage at `priority`; `done` runs on the
  // stage's thread (the run kept alive) with the request and the answer.
  using ReferenceDone =
      std::function<void(const ReferenceRequest&, absl::StatusOr<std::vector<Tensor>>)>;
  void SubmitToReference(ReferenceRequest request, models::Priority priority, ReferenceDone done);
  // The detections in an answer to `request`, in full-frame pixels.
  absl::StatusOr<std::vector<models::BoxDetection>> ReferenceBoxes(
      const ReferenceRequest& request, const absl::StatusOr<std::vector<Tensor>>& result) const;
  void OnReference(Entry* e, Clock::TimePoint t0, const ReferenceRequest& request,
                   absl::StatusOr<std::vector<Tensor>> result);
  void OnAudit(Entry* e, Clock::TimePoint t0, const ReferenceRequest& request,
               absl::StatusOr<std::vector<Tensor>> result);
  // Which waiting threads an update may unblock; signalled once mu_ is
  // released.
  struct Wake {
    bool room = false;
    bool front = false;
    bool jobs = false;
  };
  void Signal(const Wake& wake);
  // Queues the audit of `e`, taking its image.
  void QueueAudit(Entry* e, Wake* wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(Entry* e, Clock::TimePoint now, Wake* wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Fail(Entry* e, absl::Status status, Wake* wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An outstanding request completed.
  void Completed(Wake* wake) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Emitter thread.
  absl::Status EmitLoop(const ResultCallback& on_result, const ProgressCallback& on_progress);
  // The window's front once emittable (still in the window); null at the
  // end of the input or on abort.
  Entry* NextReady();
  // Takes the completed front out of the window, counting it for the audit
  // and the drift response first (so the edge, gated on the window's front,
  // never admits a frame before the changes it must see).
  std::unique_ptr<Entry> Release();
  CascadeSummary SummarySoFar() const;
  // Caller's thread.
  absl::Status Decode(video::FrameSource& source, BoundedQueue<DecodedFrame>& queue,
                      double* decode_seconds);
  void Abort();
  void WithdrawAndDrain();
  void AddSeconds(double* field, double seconds);
  models::StageRequest Request(std::vector<Tensor> inputs, std::string output,
                               models::Priority priority = models::Priority::kNormal) const;
  bool auditing() const { return s_.options.audit.rate > 0; }
  bool DriftGateOpen(int64_t frame) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Shared& s_;
  CascadePolicy policy_;  // emitter thread (Complete); decisions from any thread
  std::unique_ptr<detect::DifferenceDetector> diff_;  // edge thread
  cv::Mat diff_input_;                                 // edge thread
  const std::shared_ptr<std::atomic<bool>> cancelled_;
  int64_t rows_delivered_ = 0;  // emitter thread; read after it joined

  mutable Mutex mu_;
  // Each thread waits on its own condition, and an update signals only the
  // threads it may unblock: frame handoffs cost few context switches.
  CondVar room_cv_;   // edge: room in the window or the model stages
  CondVar front_cv_;  // emitter: the window's front is ready (or the end)
  CondVar jobs_cv_;   // dispatcher and drain: reference jobs, outstanding == 0
  std::deque<std::unique_ptr<Entry>> window_ ABSL_GUARDED_BY(mu_);
  int model_frames_ ABSL_GUARDED_BY(mu_) = 0;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;  // stage requests not completed
  bool input_done_ ABSL_GUARDED_BY(mu_) = false;
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Entry*> reference_jobs_ ABSL_GUARDED_BY(mu_);
  StageFigures spec_ ABSL_GUARDED_BY(mu_);
  StageFigures ref_ ABSL_GUARDED_BY(mu_);
  LatencyHistogram model_frame_latency_ ABSL_GUARDED_BY(mu_);
  LatencyHistogram end_to_end_ ABSL_GUARDED_BY(mu_);
  StageSeconds seconds_ ABSL_GUARDED_BY(mu_);
  // The audit: jobs not yet submitted, jobs queued or in flight, and the
  // audited frames whose row or reference label is still missing.
  std::deque<AuditJob> audit_jobs_ ABSL_GUARDED_BY(mu_);
  int audits_pending_ ABSL_GUARDED_BY(mu_) = 0;
  AuditEstimator audit_ ABSL_GUARDED_BY(mu_);
  int64_t audit_failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<DriftMonitor> drift_ ABSL_GUARDED_BY(mu_);
};

// ------------------------------------------------------------------- edge

absl::Status Cascade::RunState::EdgeLoop(BoundedQueue<DecodedFrame>& queue) {
  BatchingOptions batching = s_.options.specialized_batching;
  const int model_max = s_.stages.specialized ? s_.stages.specialized->metadata().max_batch_size : 0;
  if (model_max > 0) batching.max_batch = std::min(batching.max_batch, model_max);
  ClientBatcher<SpecItem> batcher(batching);
  while (true) {
    std::optional<DecodedFrame> item;
    if (std::optional<Clock::TimePoint> deadline = batcher.Deadline()) {
      bool timed_out = false;
      item = queue.PopUntil(s_.clock, *deadline, &timed_out);
      if (timed_out) {
        if (auto batch = batcher.Flush()) SubmitSpecialized(std::move(*batch));
        continue;
      }
    } else {
      item = queue.Pop();
    }
    if (!item) break;
    // Room in the window (and in the model stages, unless the frame cannot
    // go there: not sampled, undecodable or dropped) before taking it in. A
    // live run that drops frames to keep up thus passes them on while the
    // models are busy.
    const video::Frame& f = item->frame;
    int step = 0;
    if (!WaitForRoom(batcher, f.sampled && !f.corrupt && !f.dropped, f.index, &step)) break;
    std::optional<SpecItem> spec;
    Enter(Admit(*item, step, &spec));
    if (spec) AddToBatch(batcher, std::move(*spec));
  }
  if (auto batch = batcher.Flush()) SubmitSpecialized(std::move(*batch));
  return absl::OkStatus();
}

// Routes one decoded frame; fills `spec` when it goes to the specialized stage.
std::unique_ptr<Entry> Cascade::RunState::Admit(DecodedFrame& item, int step,
                                                std::optional<SpecItem>* spec) {
  auto e = std::make_unique<Entry>();
  const video::Frame& frame = item.frame;
  e->result.frame = frame.index;
  e->decoded = item.decoded;
  e->step = step;
  const OperatingPoint& point = s_.frontier[step];
  std::optional<detect::DiffDecision> decision;
  if (diff_ && frame.sampled && !frame.corrupt && !frame.dropped) {
    if (diff_->options().threshold != point.diff_threshold) {
      // Validated with the config: cannot fail.
      diff_->SetThreshold(point.diff_threshold).IgnoreError();
    }
    const Clock::TimePoint t0 = s_.clock->Now();
    video::CropAndResize(frame.image, s_.config.roi, s_.config.diff.width, s_.config.diff.height,
                         s_.options.interpolation, &diff_input_);
    const Clock::TimePoint t1 = s_.clock->Now();
    decision = diff_->Process(frame.index, diff_input_);
    AddSeconds(&seconds_.preprocess, SecondsBetween(t0, t1));
    AddSeconds(&seconds_.difference, SecondsBetween(t1, s_.clock->Now()));
  }
  e->routing = policy_.RouteFrame(frame.sampled, frame.corrupt, decision, frame.dropped);
  e->result.status = e->routing.status;
  e->result.diff_score = e->routing.diff_score;
  if (e->routing.route != Route::kModels) {
    e->ready = true;
    if (e->routing.route == Route::kReuse &&
        policy_.ShouldAudit(frame.index, labels::FrameStatus::kDiffReused)) {
      e->result.audited = true;
      e->image = std::move(item.frame.image);  // Enter hands it to the audit
    }
    return e;
  }
  if (s_.stages.specialized && policy_.UsesSpecialized(point)) {
    e->to_specialized = true;
    SpecItem s{e.get(), cv::Mat()};
    const Clock::TimePoint t0 = s_.clock->Now();
    video::CropAndResize(frame.image, s_.config.roi, s_.config.specialized_width,
                         s_.config.specialized_height, s_.options.interpolation, &s.crop);
    AddSeconds(&seconds_.preprocess, SecondsBetween(t0, s_.clock->Now()));
    *spec = std::move(s);
  }
  // The entry takes the decoder's reference: the frame is freed where the
  // entry lets go of it (Finish/Fail, after the stages read it), never by
  // the edge thread racing the dispatcher's read.
  e->image = std::move(item.frame.image);
  return e;
}

// Puts `entry` into the window (and the reference queue when no specialized
// stage decides first). Once there, a ready entry may be emitted and freed
// at any moment.
void Cascade::RunState::Enter(std::unique_ptr<Entry> entry) {
  const bool models = entry->routing.route == Route::kModels;
  Wake wake;
  {
    MutexLock lock(&mu_);
    if (models) {
      ++model_frames_;
      if (!entry->to_specialized) {
        reference_jobs_.push_back(entry.get());
        wake.jobs = true;
      }
    } else if (entry->result.audited) {
      QueueAudit(entry.get(), &wake);
    }
    wake.front = Emittable(*entry) && window_.empty();
    window_.push_back(std::move(entry));
  }
  Signal(wake);
}

void Cascade::RunState::AddToBatch(ClientBatcher<SpecItem>& batcher, SpecItem item) {
  const Clock::TimePoint now = s_.clock->Now();
  if (auto batch = batcher.Add(std::move(item), now)) {
    SubmitSpecialized(std::move(*batch));
  } else if (s_.options.specialized_batching.max_delay.count() > 0) {
    if (auto due = batcher.TakeIfDue(now)) SubmitSpecialized(std::move(*due));
  }
  // No delay allowed: batch only what is already decoded; the timed pop in
  // EdgeLoop sends the batch once the queue runs dry.
}

// Blocks until the window (and, when `may_need_models`, the model stages)
// have room; false when the run was aborted. Sends a partial batch first:
// its frames may be what the emitter is waiting for.
bool Cascade::RunState::WaitForRoom(ClientBatcher<SpecItem>& batcher, bool may_need_models,
                                     int64_t frame, int* step) {
  auto has_room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return aborted_ || (static_cast<int>(window_.size()) < s_.options.max_window_frames &&
                        (!may_need_models || (model_frames_ < s_.options.max_model_frames &&
                                              audits_pending_ < s_.options.audit.max_pending)) &&
                        DriftGateOpen(frame));
  };
  auto admit = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    *step = drift_ ? drift_->StepFor(frame) : 0;
    return !aborted_;
  };
  {
    MutexLock lock(&mu_);
    if (has_room()) return admit();
  }
  if (auto batch = batcher.Flush()) SubmitSpecialized(std::move(*batch));
  MutexLock lock(&mu_);
  while (!has_room()) room_cv_.Wait(&mu_);
  return admit();
}

// A drift response that changes settings decides frame `frame`'s setting
// from the rows up to frame - lag: those must all have been judged.
bool Cascade::RunState::DriftGateOpen(int64_t frame) const {
  if (!drift_ || !drift_->ChangesSettings() || window_.empty()) return true;
  return window_.front()->result.frame > frame - drift_->lag();
}

models::StageRequest Cascade::RunState::Request(std::vector<Tensor> inputs, std::string output,
                                                models::Priority priority) const {
  models::StageRequest r;
  r.inputs = std::move(inputs);
  r.outputs = {std::move(output)};
  r.priority = priority;
  r.cancelled = cancelled_;
  return r;
}

void Cascade::RunState::SubmitSpecialized(std::vector<SpecItem> batch) {
  std::vector<cv::Mat> crops;
  std::vector<int64_t> indices;
  std::vector<Entry*> entries;
  for (SpecItem& s : batch) {
    crops.push_back(std::move(s.crop));
    indices.push_back(s.entry->result.frame);
    entries.push_back(s.entry);
  }
  const models::ClassifierSignature& sig = *s_.classifier;
  models::StageRequest request =
      Request(models::ClassifierInputs(sig, crops, indices), sig.confidence_output);
  const Clock::TimePoint t0 = s_.clock->Now();
  {
    MutexLock lock(&mu_);
    ++outstanding_;
    ++spec_.requests;
    spec_.frames += static_cast<int64_t>(entries.size());
    spec_.busy.Start(t0);
  }
  s_.stages.specialized->InferAsync(
      std::move(request), [self = shared_from_this(), entries = std::move(entries), t0](auto r) {
        self->OnSpecialized(entries, t0, std::move(r));
      });
}

void Cascade::RunState::OnSpecialized(const std::vector<Entry*>& entries, Clock::TimePoint t0,
                                      absl::StatusOr<std::vector<Tensor>> result) {
  const Clock::TimePoint now = s_.clock->Now();
  absl::StatusOr<std::vector<float>> conf =
      result.ok() ? models::ConfidencesFromOutputs(*s_.classifier, *result, entries.size(),
                                                   s_.stages.specialized->metadata().name)
                  : absl::StatusOr<std::vector<float>>(result.status());
  Wake wake;
  {
    MutexLock lock(&mu_);
    Completed(&wake);
    spec_.latency.Record(now - t0);
    spec_.busy.Stop(now);
    for (size_t i = 0; i < entries.size(); ++i) {
      Entry* e = entries[i];
      if (!conf.ok()) {
        Fail(e, Annotate(conf.status(), "specialized", e->result.frame), &wake);
      } else if (policy_.DecideSpecialized((*conf)[i], s_.frontier[e->step], &e->result)) {
        reference_jobs_.push_back(e);
        wake.jobs = true;
      } else {
        if (policy_.ShouldAudit(e->result.frame, e->result.status)) QueueAudit(e, &wake);
        Finish(e, now, &wake);
      }
    }
  }
  Signal(wake);
}

// --------------------------------------------------------------- dispatch

// Builds reference payloads (resize, JPEG/PNG: CPU work kept off the stage
// threads) and submits them.
void Cascade::RunState::DispatchLoop() {
  while (std::optional<ReferenceJob> job = NextReferenceJob()) {
    if (job->entry) {
      SubmitReference(job->entry);
    } else {
      SubmitAudit(std::move(*job->audit));
    }
  }
}

void Cascade::RunState::SubmitReference(Entry* e) {
  absl::StatusOr<ReferenceRequest> request = BuildReferenceRequest(
      e->image, e->result.frame, s_.detector, s_.options.reference_payload);
  if (!request.ok()) {
    Wake wake;
    {
      MutexLock lock(&mu_);
      Completed(&wake);
      Fail(e, Annotate(request.status(), "reference", e->result.frame), &wake);
    }
    Signal(wake);
    return;
  }
  const Clock::TimePoint t0 = s_.clock->Now();
  {
    MutexLock lock(&mu_);
    ref_.busy.Start(t0);
  }
  SubmitToReference(std::move(*request), models::Priority::kNormal,
                    [this, e, t0](const ReferenceRequest& sent, auto r) {
                      OnReference(e, t0, sent, std::move(r));
                    });
}

// Audits go at low priority: the stage serves them when the cascade's own
// reference requests leave it idle.
void Cascade::RunState::SubmitAudit(AuditJob job) {
  // The frame number is set at admission and never changes: readable here.
  absl::StatusOr<ReferenceRequest> request = BuildReferenceRequest(
      job.image, job.entry->result.frame, s_.detector, s_.options.reference_payload);
  job.image.release();
  if (!request.ok()) {
    OnAudit(job.entry, s_.clock->Now(), ReferenceRequest{}, request.status());
    return;
  }
  const Clock::TimePoint t0 = s_.clock->Now();
  SubmitToReference(std::move(*request), models::Priority::kLow,
                    [this, e = job.entry, t0](const ReferenceRequest& sent, auto r) {
                      OnAudit(e, t0, sent, std::move(r));
                    });
}

void Cascade::RunState::SubmitToReference(ReferenceRequest request, models::Priority priority,
                                          ReferenceDone done) {
  auto shared_request = std::make_shared<ReferenceRequest>(std::move(request));
  models::StageRequest stage_request =
      Request(std::move(shared_request->inputs), s_.detector.detections_output, priority);
  s_.stages.reference->InferAsync(
      std::move(stage_request),
      [self = shared_from_this(), shared_request, done = std::move(done)](auto r) {
        done(*shared_request, std::move(r));
      });
}

absl::StatusOr<std::vector<models::BoxDetection>> Cascade::RunState::ReferenceBoxes(
    const ReferenceRequest& request, const absl::StatusOr<std::vector<Tensor>>& result) const {
  if (!result.ok()) return result.status();
  DNS_ASSIGN_OR_RETURN(std::vector<models::BoxDetection> boxes,
                       models::DetectionsFromOutputs(s_.detector, *result,
                                                     s_.stages.reference->metadata().name));
  ScaleBoxes(request, &boxes);
  return boxes;
}

// The next job for the reference stage (counted as outstanding): the
// cascade's own frames first, then audits; none once the run is over (every
// audit done too) or aborted.
std::optional<ReferenceJob> Cascade::RunState::NextReferenceJob() {
  MutexLock lock(&mu_);
  while (!aborted_ && reference_jobs_.empty() && audit_jobs_.empty() &&
         !(input_done_ && outstanding_ == 0 && audits_pending_ == 0)) {
    jobs_cv_.Wait(&mu_);
  }
  if (aborted_) return std::nullopt;
  ReferenceJob job;
  if (!reference_jobs_.empty()) {
    job.entry = reference_jobs_.front();
    reference_jobs_.pop_front();
    ++ref_.frames;
  } else if (!audit_jobs_.empty()) {
    job.audit = std::move(audit_jobs_.front());
    audit_jobs_.pop_front();
  } else {
    return std::nullopt;
  }
  ++outstanding_;
  ++ref_.requests;
  return job;
}

void Cascade::RunState::QueueAudit(Entry* e, Wake* wake) {
  e->result.audited = true;
  e->awaiting_audit = true;
  audit_jobs_.push_back({e, std::move(e->image)});
  ++audits_pending_;
  wake->jobs = true;
}

void Cascade::RunState::OnAudit(Entry* e, Clock::TimePoint t0, const ReferenceRequest& request,
                                absl::StatusOr<std::vector<Tensor>> result) {
  const Clock::TimePoint now = s_.clock->Now();
  const absl::StatusOr<std::vector<models::BoxDetection>> boxes = ReferenceBoxes(request, result);
  FrameResult truth;
  if (boxes.ok()) {
    policy_.DecideReference(*boxes, s_.stages.reference->metadata().class_names, &truth);
  } else if (!absl::IsCancelled(boxes.status())) {
    spdlog::warn("audit of frame {} failed (not counted): {}", e->result.frame,
                 boxes.status().ToString());
  }
  Wake wake;
  {
    MutexLock lock(&mu_);
    if (result.ok()) ref_.latency.Record(now - t0);
    --audits_pending_;
    wake.room = true;
    if (boxes.ok()) {
      e->audit_label = truth.label;
    } else {
      ++audit_failures_;
    }
    e->awaiting_audit = false;
    wake.front |= Emittable(*e) && window_.front().get() == e;
    Completed(&wake);
    if (audits_pending_ == 0) wake.jobs = true;
  }
  Signal(wake);
}

void Cascade::RunState::OnReference(Entry* e, Clock::TimePoint t0, const ReferenceRequest& request,
                                    absl::StatusOr<std::vector<Tensor>> result) {
  const Clock::TimePoint now = s_.clock->Now();
  const absl::StatusOr<std::vector<models::BoxDetection>> boxes = ReferenceBoxes(request, result);
  Wake wake;
  {
    MutexLock lock(&mu_);
    Completed(&wake);
    ref_.latency.Record(now - t0);
    ref_.busy.Stop(now);
    if (!boxes.ok()) {
      Fail(e, Annotate(boxes.status(), "reference", e->result.frame), &wake);
    } else {
      policy_.DecideReference(*boxes, s_.stages.reference->metadata().class_names, &e->result);
      Finish(e, now, &wake);
    }
  }
  Signal(wake);
}

void Cascade::RunState::Signal(const Wake& wake) {
  if (wake.room) room_cv_.Signal();
  if (wake.front) front_cv_.Signal();
  if (wake.jobs) jobs_cv_.SignalAll();
}

void Cascade::RunState::Finish(Entry* e, Clock::TimePoint now, Wake* wake) {
  e->ready = true;
  e->image.release();
  --model_frames_;
  model_frame_latency_.Record(now - e->decoded);
  wake->room = true;
  wake->front |= Emittable(*e) && window_.front().get() == e;
}

void Cascade::RunState::Fail(Entry* e, absl::Status status, Wake* wake) {
  e->error = std::move(status);
  e->ready = true;
  e->image.release();
  --model_frames_;
  wake->room = true;
  wake->front |= Emittable(*e) && window_.front().get() == e;
}

void Cascade::RunState::Completed(Wake* wake) {
  if (--outstanding_ == 0) wake->jobs = true;
}

// ---------------------------------------------------------------- emitter

absl::Status Cascade::RunState::EmitLoop(const ResultCallback& on_result,
                                         const ProgressCallback& on_progress) {
  while (Entry* front = NextReady()) {
    // Emittable: no other thread touches the entry any more.
    if (!front->error.ok()) return front->error;
    DNS_RETURN_IF_ERROR(policy_.Complete(front->routing, &front->result));
    const std::unique_ptr<Entry> e = Release();
    DNS_RETURN_IF_ERROR(on_result(e->result));
    ++rows_delivered_;
    {
      MutexLock lock(&mu_);
      end_to_end_.Record(s_.clock->Now() - e->decoded);
    }
    if (on_progress) on_progress(SummarySoFar());
  }
  return absl::OkStatus();
}

Entry* Cascade::RunState::NextReady() {
  MutexLock lock(&mu_);
  while (!aborted_ && !(!window_.empty() && Emittable(*window_.front())) &&
         !(input_done_ && window_.empty())) {
    front_cv_.Wait(&mu_);
  }
  if (aborted_ || window_.empty()) return nullptr;
  return window_.front().get();
}

std::unique_ptr<Entry> Cascade::RunState::Release() {
  std::unique_ptr<Entry> e;
  std::optional<DriftChange> change;
  std::optional<DriftReport> drift;
  {
    MutexLock lock(&mu_);
    e = std::move(window_.front());
    window_.pop_front();
    if (auditing()) {
      audit_.AddRow(e->result);
      if (e->audit_label) audit_.AddAudit(e->result, *e->audit_label);
    }
    if (drift_) {
      change = drift_->OnRow(e->result, e->audit_label);
      if (change) drift = drift_->Report();
    }
  }
  room_cv_.Signal();
  if (change) spdlog::warn("{}", DriftChangeText(*change, *drift));
  return e;
}

// Frames and statuses so far (emitter thread); times are filled at the end.
CascadeSummary Cascade::RunState::SummarySoFar() const {
  const FrameCounts& c = policy_.counts();
  CascadeSummary s;
  s.frames = c.frames;
  s.positive_frames = c.positive_frames;
  s.corrupt_frames = c.corrupt_frames;
  s.status_counts = c.status_counts;
  if (auditing()) {
    MutexLock lock(&mu_);
    s.audit = audit_.Estimate(s_.options.audit.level);
    s.audit_failures = audit_failures_;
    if (drift_) s.drift = drift_->Report();
  }
  return s;
}

// ---------------------------------------------------------------- control

void Cascade::RunState::AddSeconds(double* field, double seconds) {
  MutexLock lock(&mu_);
  *field += seconds;
}

void Cascade::RunState::Abort() {
  {
    MutexLock lock(&mu_);
    aborted_ = true;
  }
  Signal({.room = true, .front = true, .jobs = true});
}

// Withdraws this run's requests from the (shared) stages and waits for
// every callback: they point into the window.
void Cascade::RunState::WithdrawAndDrain() {
  cancelled_->store(true);
  MutexLock lock(&mu_);
  while (outstanding_ > 0) jobs_cv_.Wait(&mu_);
}

absl::Status Cascade::RunState::Decode(video::FrameSource& source,
                                       BoundedQueue<DecodedFrame>& queue, double* decode_seconds) {
  while (true) {
    const Clock::TimePoint t0 = s_.clock->Now();
    absl::StatusOr<std::optional<video::Frame>> next = source.Next();
    const Clock::TimePoint t1 = s_.clock->Now();
    *decode_seconds += SecondsBetween(t0, t1);
    if (!next.ok()) return next.status();
    if (!next->has_value() || !queue.Push({std::move(**next), t1})) return absl::OkStatus();
  }
}

absl::StatusOr<CascadeSummary> Cascade::RunState::Run(video::FrameSource& source,
                                                      const ResultCallback& on_result,
                                                      const ProgressCallback& on_progress) {
  const Clock::TimePoint start = s_.clock->Now();
  BoundedQueue<DecodedFrame> queue(s_.options.queue_capacity);
  absl::Status edge_status, emit_status;
  std::jthread emitter([&] {
    emit_status = EmitLoop(on_result, on_progress);
    if (!emit_status.ok()) Abort();
  });
  std::jthread dispatcher([&] { DispatchLoop(); });
  std::jthread edge([&] {
    edge_status = EdgeLoop(queue);
    queue.Close();  // unblocks the decoder when the edge stopped early
    {
      MutexLock lock(&mu_);
      input_done_ = true;
    }
    Signal({.front = true, .jobs = true});
  });
  double decode_seconds = 0;
  const absl::Status decode_status = Decode(source, queue, &decode_seconds);
  queue.Close();
  edge.join();
  emitter.join();
  // The dispatcher ends by itself once the last audit is done (an emitter
  // that failed aborted the run, which stops it too).
  dispatcher.join();
  WithdrawAndDrain();

  CascadeSummary summary = SummarySoFar();
  {
    MutexLock lock(&mu_);
    summary.stage_seconds = seconds_;
    summary.stage_seconds.specialized = spec_.busy.seconds;
    summary.stage_seconds.reference = ref_.busy.seconds;
  }
  summary.stage_seconds.decode = decode_seconds;
  summary.wall_seconds = SecondsBetween(start, s_.clock->Now());
  summary.frames_per_second = summary.wall_seconds > 0 ? summary.frames / summary.wall_seconds : 0;
  if (!emit_status.ok()) {
    return absl::Status(emit_status.code(), fmt::format("{} ({} rows written before it)",
                                                        std::string(emit_status.message()),
                                                        rows_delivered_));
  }
  if (!edge_status.ok()) return edge_status;
  if (!decode_status.ok()) return decode_status;
  return summary;
}

RunReport Cascade::RunState::Report() const {
  auto stage_report = [](std::string name, const models::ModelStage& stage,
                         const StageFigures& figures) {
    StageReport s;
    s.stage = std::move(name);
    s.description = stage.Describe();
    s.stats = stage.stats();
    for (const models::StageEndpointStats& e : s.stats.endpoints) s.bytes_sent += e.bytes_sent;
    s.requests = figures.requests;
    s.frames = figures.frames;
    s.latency = Summarize(figures.latency);
    return s;
  };
  // Stage figures are copied under mu_, stage stats read without it (a
  // stage takes its own locks).
  StageFigures spec, ref;
  RunReport r;
  {
    MutexLock lock(&mu_);
    spec = spec_;
    ref = ref_;
    r.model_frame_latency = Summarize(model_frame_latency_);
    r.end_to_end_latency = Summarize(end_to_end_);
  }
  if (s_.stages.specialized) {
    r.stages.push_back(stage_report("specialized", *s_.stages.specialized, spec));
  }
  r.stages.push_back(stage_report("reference", *s_.stages.reference, ref));
  return r;
}

// ---------------------------------------------------------------- Cascade

Cascade::Cascade(std::unique_ptr<Shared> shared) : shared_(std::move(shared)) {}

Cascade::~Cascade() = default;

absl::StatusOr<std::unique_ptr<Cascade>> Cascade::Create(const CascadeConfig& config,
                                                         const CascadeOptions& options,
                                                         Stages stages, Clock* clock) {
  DNS_RETURN_IF_ERROR(ValidateCascadeConfig(config));
  DNS_RETURN_IF_ERROR(CheckOptions(options));
  if (stages.reference == nullptr) {
    return absl::InvalidArgumentError("cascade needs a reference stage");
  }
  if (config.specialized_enabled() != (stages.specialized != nullptr)) {
    return absl::InvalidArgumentError(
        config.specialized_enabled()
            ? "config names a specialized model but no specialized stage was given"
            : "a specialized stage was given but the config has no specialized model");
  }
  auto shared = std::make_unique<Shared>();
  DNS_ASSIGN_OR_RETURN(shared->detector, models::DetectorSignatureOf(stages.reference->metadata()));
  if (stages.reference->metadata().class_names.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "reference model '{}' reports no class names, so detections cannot be matched to "
        "'{}': give the names file (--reference-names; TF Serving metadata carries none, and a "
        "replay model lists the object names of its label file or its replay.object_name)",
        stages.reference->metadata().name, config.object));
  }
  if (stages.specialized) {
    DNS_ASSIGN_OR_RETURN(shared->classifier,
                         models::ClassifierSignatureOf(stages.specialized->metadata()));
  }
  shared->config = config;
  shared->options = options;
  shared->stages = stages;
  shared->policy = PolicyOptionsFor(config);
  shared->policy.audit = options.audit;
  shared->frontier = DriftFrontier(config);
  if (options.drift.mode != DriftMode::kOff) {
    if (!config.drift.fp_target || !config.drift.fn_target) {
      return absl::InvalidArgumentError(
          "a drift response needs FP and FN targets: the config's drift.fp_target and "
          "drift.fn_target (dnoscope optimize writes them) or --fp-target/--fn-target");
    }
    shared->options.drift.fp_target = *config.drift.fp_target;
    shared->options.drift.fn_target = *config.drift.fn_target;
    shared->options.drift.level = options.audit.level;
  }
  shared->clock = clock;
  if (config.diff_enabled) {
    DNS_ASSIGN_OR_RETURN(shared->diff_background, LoadDiffBackground(config));
  }
  return std::unique_ptr<Cascade>(new Cascade(std::move(shared)));
}

absl::StatusOr<CascadeSummary> Cascade::Run(video::FrameSource& source,
                                            const ResultCallback& on_result,
                                            const ProgressCallback& on_progress) {
  const video::VideoInfo& info = source.info();
  if (shared_->config.roi) {
    DNS_RETURN_IF_ERROR(CheckRoiInFrame(*shared_->config.roi, info.width, info.height));
  }
  auto run = std::make_shared<RunState>(*shared_);
  DNS_RETURN_IF_ERROR(run->Init());
  {
    MutexLock lock(&shared_->run_mu);
    shared_->run = run;
  }
  return run->Run(source, on_result, on_progress);
}

RunReport Cascade::report() const {
  std::shared_ptr<RunState> run;
  {
    MutexLock lock(&shared_->run_mu);
    run = shared_->run;
  }
  if (run) return run->Report();
  RunReport r;
  const Stages& st = shared_->stages;
  if (st.specialized) r.stages.push_back({"specialized", st.specialized->Describe()});
  r.stages.push_back({"reference", st.reference->Describe()});
  return r;
}

std::string Cascade::InFlightLine() const {
  const Stages& st = shared_->stages;
  std::string line;
  if (st.specialized) line = InFlightText("spec", st.specialized->stats()) + " ";
  return line + InFlightText("ref", st.reference->stats());
}

absl::StatusOr<double> MeasureDecodeOnly(video::FrameSource& source, const CascadeConfig& config,
                                         const CascadeOptions& options, Clock* clock) {
  const Clock::TimePoint start = clock->Now();
  int64_t frames = 0;
  cv::Mat small;
  while (true) {
    DNS_ASSIGN_OR_RETURN(std::optional<video::Frame> frame, source.Next());
    if (!frame) break;
    ++frames;
    if (frame->sampled && !frame->corrupt) {
      video::CropAndResize(frame->image, config.roi, config.diff.width, config.diff.height,
                           options.interpolation, &small);
    }
  }
  const double seconds = SecondsBetween(start, clock->Now());
  return seconds > 0 ? frames / seconds : 0.0;
}

}  // namespace dnoscope::cascade
