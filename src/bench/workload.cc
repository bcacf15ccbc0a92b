#include "bench/workload.h"

#include <algorithm>
#include <filesystem>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "labels/label_csv.h"
#include "video/frame_source.h"
#include "video/synthetic.h"

namespace dnoscope::bench {
namespace {

namespace fs = std::filesystem;

// A number in [0, 1) that depends only on (frame, salt): splitmix64.
double FrameUniform(int64_t frame, uint64_t salt) {
  uint64_t z = static_cast<uint64_t>(frame) * 0x9E3779B97F4A7C15ull + salt;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) / static_cast<double>(uint64_t{1} << 53);
}

// Renders the synthetic scene; its truth is the reference's labels.
absl::Status RenderScene(const ReplayWorkloadOptions& o, const fs::path& dir, ReplayWorkload* w) {
  video::SynthOptions synth;
  synth.width = o.size.width;
  synth.height = o.size.height;
  synth.frames = o.size.frames;
  synth.object_name = kObject;
  synth.object_rate = 0.02;
  DNS_ASSIGN_OR_RETURN(video::SynthResult scene,
                       video::WriteSyntheticScene(synth, (dir / "scene").string()));
  DNS_ASSIGN_OR_RETURN(std::vector<labels::Detection> truth,
                       labels::ReadLabelCsv(scene.labels_path));
  w->video = scene.video_path;
  w->size = {scene.frames, o.size.width, o.size.height};
  w->synthetic = true;
  w->reference_labels = scene.labels_path;
  for (const labels::Detection& d : truth) w->positive.insert(d.frame);
  return absl::OkStatus();
}

// A given video: a pseudo-random third of its frames hold one centred object.
absl::Status PseudoLabels(const ReplayWorkloadOptions& o, const fs::path& dir, ReplayWorkload* w) {
  DNS_ASSIGN_OR_RETURN(video::VideoInfo info, video::ProbeVideo(o.video));
  int64_t frames = o.size.frames;
  if (info.frame_count > 0) {
    frames = frames > 0 ? std::min(frames, info.frame_count) : info.frame_count;
  }
  if (frames <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' does not declare its frame count; give the number of frames", o.video));
  }
  w->video = o.video;
  w->size = {frames, info.width, info.height};
  std::vector<labels::Detection> rows;
  for (int64_t f = 0; f < frames; ++f) {
    if (FrameUniform(f, /*salt=*/17) >= 1.0 / 3) continue;
    w->positive.insert(f);
    rows.push_back({f, kObject, 0.9f, info.width / 4.0f, info.height / 4.0f, info.width * 0.75f,
                    info.height * 0.75f});
  }
  w->reference_labels = (dir / "reference_labels.csv").string();
  return labels::WriteLabelCsv(w->reference_labels, rows);
}

absl::Status CheckWorkloadOptions(const ReplayWorkloadOptions& o) {
  if (o.size.frames < 0 || (o.video.empty() && o.size.frames == 0)) {
    return absl::InvalidArgumentError("frames must be >= 1 for a synthetic video");
  }
  if (o.video.empty() && (o.size.width < 16 || o.size.height < 16)) {
    return absl::InvalidArgumentError("the synthetic video must be at least 16x16");
  }
  if (!(o.uncertain_share >= 0 && o.uncertain_share <= 1)) {
    return absl::InvalidArgumentError("uncertain_share must be in [0, 1]");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ReplayWorkload> PrepareReplayWorkload(const ReplayWorkloadOptions& options,
                                                     const std::string& dir) {
  DNS_RETURN_IF_ERROR(CheckWorkloadOptions(options));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create '{}': {}", dir, ec.message()));
  ReplayWorkload w;
  DNS_RETURN_IF_ERROR(options.video.empty() ? RenderScene(options, dir, &w)
                                            : PseudoLabels(options, dir, &w));
  w.classifier_labels = (fs::path(dir) / "classifier_labels.csv").string();
  DNS_ASSIGN_OR_RETURN(w.uncertain_frames,
                       WriteClassifierLabels(w.classifier_labels, w, w.size.frames, [&](int64_t f) {
                         return FrameUniform(f, /*salt=*/29) < options.uncertain_share;
                       }));
  return w;
}

absl::StatusOr<int64_t> WriteClassifierLabels(const std::string& path, const ReplayWorkload& w,
                                              int64_t frames,
                                              const std::function<bool(int64_t)>& unsure) {
  std::vector<labels::Detection> rows;
  int64_t unsure_frames = 0;
  for (int64_t f = 0; f < frames; ++f) {
    float confidence = 0;
    if (unsure(f)) {
      confidence = 0.5f;
      ++unsure_frames;
    } else if (w.positive.count(f) > 0) {
      confidence = 0.95f;
    }
    if (confidence > 0) {
      rows.push_back({f, kObject, confidence, 0, 0, static_cast<float>(w.size.width),
                      static_cast<float>(w.size.height)});
    }
  }
  DNS_RETURN_IF_ERROR(labels::WriteLabelCsv(path, rows));
  return unsure_frames;
}

cascade::CascadeConfig ReplayCascadeConfig(bool specialized, bool difference) {
  cascade::CascadeConfig config;
  config.object = kObject;
  config.diff_enabled = difference;
  if (specialized) {
    config.specialized.model = kSpecializedModel;
    config.c_low = 0.2f;
    config.c_high = 0.8f;
  }
  config.reference.model = kReferenceModel;
  return config;
}

emulation::ReplayModelSpec ClassifierSpec(const ReplayWorkload& w, int max_batch_size) {
  return {.name = kSpecializedModel,
          .kind = "classifier",
          .labels_file = w.classifier_labels,
          .object_name = kObject,
          .max_batch_size = max_batch_size};
}

emulation::ReplayModelSpec DetectorSpec(const ReplayWorkload& w) {
  return {.name = kReferenceModel, .labels_file = w.reference_labels, .object_name = kObject};
}

client::RemoteModelOptions RemoteOptions(const std::string& model, client::BalancePolicy policy,
                                         int max_in_flight) {
  client::RemoteModelOptions o;
  o.model = model;
  o.balancer.policy = policy;
  o.balancer.max_in_flight_per_endpoint = max_in_flight;
  return o;
}

}  // namespace dnoscope::bench
