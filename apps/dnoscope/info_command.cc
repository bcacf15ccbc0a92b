// `dnoscope info`: properties of a video or a model.
#include <cstdio>

#include "commands.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "models/model_repository.h"
#include "video/frame_source.h"

namespace dnoscope::app {
namespace {

struct InfoArgs {
  std::string video;
  models::ModelSpec model;
};

std::string SpecLine(const models::TensorSpec& t) {
  return fmt::format("  {:<14} {:<6} {}", t.name, DataTypeName(t.dtype), ShapeString(t.shape));
}

absl::Status PrintModel(const models::ModelSpec& spec) {
  DNS_ASSIGN_OR_RETURN(auto model, models::LoadModel(spec));
  const models::ModelMetadata& m = model->metadata();
  std::printf("model          %s (version %lld)\n", m.name.c_str(),
              static_cast<long long>(m.version));
  std::printf("backend        %s / %s, %s\n", m.backend.c_str(), m.platform.c_str(),
              std::string(models::ModelKindName(m.kind)).c_str());
  std::printf("max batch size %d\n", m.max_batch_size);
  std::printf("inputs\n");
  for (const auto& t : m.inputs) std::printf("%s\n", SpecLine(t).c_str());
  std::printf("outputs\n");
  for (const auto& t : m.outputs) std::printf("%s\n", SpecLine(t).c_str());
  if (!m.class_names.empty()) {
    const size_t shown = std::min<size_t>(m.class_names.size(), 10);
    std::printf(
        "classes        %zu: %s%s\n", m.class_names.size(),
        fmt::format("{}", fmt::join(m.class_names.begin(), m.class_names.begin() + shown, ", "))
            .c_str(),
        shown < m.class_names.size() ? ", ..." : "");
  }
  return absl::OkStatus();
}

absl::Status PrintVideo(const std::string& uri) {
  DNS_ASSIGN_OR_RETURN(video::VideoInfo v, video::ProbeVideo(uri));
  std::printf("video          %s\n", v.uri.c_str());
  std::printf("resolution     %dx%d\n", v.width, v.height);
  std::printf("fps            %.3f\n", v.fps);
  std::printf("frames         %s\n",
              v.frame_count >= 0 ? std::to_string(v.frame_count).c_str() : "unknown");
  if (v.fps > 0 && v.frame_count > 0) std::printf("duration       %.2f s\n", v.frame_count / v.fps);
  std::printf("codec          %s\n", v.codec.empty() ? "unknown" : v.codec.c_str());
  std::printf("source         %s (%s)\n", v.live ? "live stream" : "file", v.backend.c_str());
  return absl::OkStatus();
}

}  // namespace

Command AddInfoCommand(CLI::App& root) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* sub = root.add_subcommand(
      "info", "Print a video's properties (--video) or a model's inputs and outputs (--model)");
  sub->add_option("--video", args->video, "Video file or stream URL");
  sub->add_option(
      "--model", args->model.model,
      "Model: 'hog', a .onnx file, a Darknet .cfg (with --weights) or a repository name");
  sub->add_option("--weights", args->model.weights, "Darknet .weights file for a .cfg model");
  sub->add_option("--names", args->model.names, "Class names file (default: COCO's 80)");
  sub->add_option("--model-repository", args->model.repository, "Model repository root");
  sub->add_option("--kind", args->model.kind, "For a bare .onnx file: detector or classifier")
      ->capture_default_str()
      ->check(CLI::IsMember({"detector", "classifier"}));
  return {sub, [args] {
            if (args->video.empty() == args->model.model.empty()) {
              return absl::InvalidArgumentError("give exactly one of --video or --model");
            }
            return args->video.empty() ? PrintModel(args->model) : PrintVideo(args->video);
          }};
}

}  // namespace dnoscope::app
