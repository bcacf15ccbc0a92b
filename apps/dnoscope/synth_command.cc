// `dnoscope synth`: a synthetic fixed-camera scene with exact labels.
#include <cstdio>

#include "commands.h"
#include "common/progress.h"
#include "common/status_macros.h"
#include "common_options.h"
#include "video/synthetic.h"

namespace dnoscope::app {
namespace {

struct SynthArgs {
  video::SynthOptions options;
  std::string out;
};

absl::Status ExecuteSynth(const SynthArgs& a) {
  ProgressReporter::Options popts;
  popts.terminal = UseTerminalProgress();
  popts.total = a.options.frames;
  std::optional<ProgressReporter> progress;
  progress.emplace(popts, Clock::Real());
  DNS_ASSIGN_OR_RETURN(
      video::SynthResult r,
      video::WriteSyntheticScene(a.options, a.out, [&](int64_t n) { progress->Update(n, ""); }));
  progress.reset();
  std::printf(
      "wrote %lld frames (%lld objects, %lld frames with a '%s', %.1f%%)\n"
      "  video      %s\n  labels     %s\n  background %s\n",
      static_cast<long long>(r.frames), static_cast<long long>(r.objects),
      static_cast<long long>(r.positive_frames), a.options.object_name.c_str(),
      r.frames ? 100.0 * r.positive_frames / r.frames : 0.0, r.video_path.c_str(),
      r.labels_path.c_str(), r.background_path.c_str());
  return absl::OkStatus();
}

}  // namespace

Command AddSynthCommand(CLI::App& root) {
  auto args = std::make_shared<SynthArgs>();
  video::SynthOptions& o = args->options;
  CLI::App* sub = root.add_subcommand(
      "synth",
      "Generate a synthetic fixed-camera video (textured background, sensor noise, illumination "
      "drift, objects entering/moving/stopping/leaving) with its exact label CSV; deterministic "
      "for a seed. Writes DIR/video.avi, DIR/labels.csv, DIR/background.png");
  sub->add_option("--out", args->out, "Output directory (created)")->required();
  sub->add_option("--frames", o.frames, "Number of frames")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  sub->add_option("--object-rate", o.object_rate, "Expected new objects per frame")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--width", o.width, "Frame width")
      ->capture_default_str()
      ->check(CLI::Range(32, 7680));
  sub->add_option("--height", o.height, "Frame height")
      ->capture_default_str()
      ->check(CLI::Range(32, 4320));
  sub->add_option("--fps", o.fps, "Frames per second")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--object", o.object_name, "Object class name in the labels")
      ->capture_default_str();
  sub->add_option("--max-objects", o.max_objects, "Objects on screen at once at most")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--stop-probability", o.stop_probability,
                  "Chance that an object stops for a while")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--noise", o.noise_sigma, "Sensor noise sigma in grey levels")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--drift", o.drift_amplitude, "Illumination drift amplitude (relative)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  sub->add_option("--codec", o.codec, "FourCC of the .avi codec")->capture_default_str();
  return {sub, [args] { return ExecuteSynth(*args); }};
}

}  // namespace dnoscope::app
