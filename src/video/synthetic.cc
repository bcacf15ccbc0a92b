#include "video/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "opencv2/imgproc.hpp"

namespace dnoscope::video {
namespace {

// Extra rows/columns of the noise bank: each frame views it at a random
// offset, so the noise differs between frames without drawing a whole new
// field per frame (cv::randn on 1080p costs ~25 ms, the view costs nothing).
constexpr int kNoiseMargin = 61;
// Objects are 8-20% of the frame in each dimension.
constexpr double kMinObjectFraction = 0.08;
constexpr double kMaxObjectFraction = 0.20;
// Crossing time in seconds, and pause length of stopping objects.
constexpr double kMinCrossSeconds = 2.0;
constexpr double kMaxCrossSeconds = 8.0;
constexpr double kMinStopSeconds = 1.0;
constexpr double kMaxStopSeconds = 5.0;
// A truth box needs at least this fraction of the object visible.
constexpr double kMinVisibleFraction = 0.25;
// Road band (relative to the frame height), where horizontal movers drive.
constexpr double kRoadCentre = 0.62;
constexpr double kRoadHalfHeight = 0.14;
// Illumination drift periods in seconds.
constexpr double kDriftPeriodSlow = 40.0;
constexpr double kDriftPeriodFast = 11.0;

absl::Status Invalid(std::string_view field, const std::string& value, std::string_view need) {
  return absl::InvalidArgumentError(
      fmt::format("bad synthetic scene option {}={}: {}", field, value, need));
}

absl::Status CheckSizeAndTime(const SynthOptions& o) {
  if (o.width < 16 || o.width > 8192)
    return Invalid("width", fmt::format("{}", o.width), "need 16..8192");
  if (o.height < 16 || o.height > 8192) {
    return Invalid("height", fmt::format("{}", o.height), "need 16..8192");
  }
  if (o.frames < 1) return Invalid("frames", fmt::format("{}", o.frames), "need at least 1");
  if (!(o.fps > 0) || !std::isfinite(o.fps)) {
    return Invalid("fps", fmt::format("{}", o.fps), "need a positive number");
  }
  return absl::OkStatus();
}

absl::Status CheckObjectsAndLook(const SynthOptions& o) {
  if (!(o.object_rate >= 0 && o.object_rate <= 10)) {
    return Invalid("object_rate", fmt::format("{}", o.object_rate), "need 0..10 per frame");
  }
  if (!(o.stop_probability >= 0 && o.stop_probability <= 1)) {
    return Invalid("stop_probability", fmt::format("{}", o.stop_probability), "need 0..1");
  }
  if (o.max_objects < 0)
    return Invalid("max_objects", fmt::format("{}", o.max_objects), "need >= 0");
  if (o.object_name.empty() || o.object_name.find_first_of(",\"\r\n") != std::string::npos) {
    return Invalid("object_name", "'" + o.object_name + "'",
                   "need a non-empty name without comma, quote or newline");
  }
  if (!(o.noise_sigma >= 0 && o.noise_sigma <= 64)) {
    return Invalid("noise_sigma", fmt::format("{}", o.noise_sigma), "need 0..64 grey levels");
  }
  if (!(o.drift_amplitude >= 0 && o.drift_amplitude <= 0.5)) {
    return Invalid("drift_amplitude", fmt::format("{}", o.drift_amplitude), "need 0..0.5");
  }
  const bool printable =
      std::all_of(o.codec.begin(), o.codec.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
  if (o.codec.size() != 4 || !printable) {
    return Invalid("codec", "'" + o.codec + "'", "need a 4-character FourCC such as MJPG");
  }
  return absl::OkStatus();
}

// Smooth random texture in [0, 1], CV_32FC(channels): uniform noise on a
// coarse grid (one cell per `cell` pixels), upsampled with bicubic filtering.
cv::Mat SmoothNoise(cv::Size size, int cell, int channels, cv::RNG& rng) {
  cv::Mat coarse(size.height / cell + 2, size.width / cell + 2, CV_32FC(channels));
  rng.fill(coarse, cv::RNG::UNIFORM, 0.0, 1.0);
  cv::Mat smooth;
  cv::resize(coarse, smooth, size, 0, 0, cv::INTER_CUBIC);
  return smooth;
}

// Base colour modulated by a texture: colour * (1 - depth/2 + depth * tex).
cv::Mat Textured(cv::Size size, cv::Scalar colour, double depth, int cell, cv::RNG& rng) {
  cv::Mat tex = SmoothNoise(size, cell, 1, rng);
  tex = tex * depth + (1.0 - depth / 2.0);
  cv::Mat tex3;
  cv::merge(std::vector<cv::Mat>{tex, tex, tex}, tex3);
  cv::Mat out(size, CV_32FC3, colour);
  cv::multiply(out, tex3, out);
  cv::Mat out8;
  out.convertTo(out8, CV_8UC3);
  return out8;
}

// Uniform double in [lo, hi) from the top 53 bits of the engine: our own
// mapping, identical on every platform and standard library.
double Uniform(std::mt19937_64& rng, double lo, double hi) {
  return lo + (hi - lo) * (static_cast<double>(rng() >> 11) * 0x1.0p-53);
}

// Uniform integer in [lo, hi]; lo when hi <= lo.
int UniformInt(std::mt19937_64& rng, int lo, int hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

// Poisson-distributed count (Knuth's method; fine for small means).
int Poisson(std::mt19937_64& rng, double mean) {
  const double limit = std::exp(-mean);
  int count = 0;
  for (double p = Uniform(rng, 0, 1); p > limit; p *= Uniform(rng, 0, 1)) ++count;
  return count;
}

int RoadTop(int height) {
  return static_cast<int>(std::lround((kRoadCentre - kRoadHalfHeight) * height));
}
int RoadBottom(int height) {
  return static_cast<int>(std::lround((kRoadCentre + kRoadHalfHeight) * height));
}

void DrawRoad(cv::Mat& bg, cv::RNG& cv_rng) {
  const int top = RoadTop(bg.rows);
  const int bottom = std::min(bg.rows, RoadBottom(bg.rows));
  const cv::Rect road(0, top, bg.cols, bottom - top);
  Textured(road.size(), cv::Scalar(88, 90, 94), 0.25, std::max(4, bg.rows / 40), cv_rng)
      .copyTo(bg(road));
  const int line = std::max(1, bg.rows / 180);
  const cv::Scalar white(215, 215, 215);
  cv::line(bg, {0, top + line}, {bg.cols - 1, top + line}, white, line);
  cv::line(bg, {0, bottom - 1 - line}, {bg.cols - 1, bottom - 1 - line}, white, line);
  const int dash = std::max(4, bg.cols / 24);
  const int centre = (top + bottom) / 2;
  for (int x = 0; x < bg.cols; x += 2 * dash) {
    cv::line(bg, {x, centre}, {x + dash, centre}, cv::Scalar(60, 200, 230), line);
  }
}

void DrawBuilding(cv::Mat& bg, cv::Rect rect, std::mt19937_64& rng) {
  const int grey = UniformInt(rng, 90, 190);
  const cv::Scalar wall(grey - UniformInt(rng, 0, 40), grey, grey + UniformInt(rng, 0, 40));
  cv::rectangle(bg, rect, wall, cv::FILLED);
  const int step = std::max(4, rect.width / 6);
  const int size = std::max(2, step / 2);
  for (int y = rect.y + size; y + size < rect.br().y; y += step) {
    for (int x = rect.x + size / 2; x + size < rect.br().x; x += step) {
      const bool lit = Uniform(rng, 0, 1) < 0.3;
      cv::rectangle(bg, cv::Rect(x, y, size, size),
                    lit ? cv::Scalar(150, 220, 240) : cv::Scalar(60, 50, 45), cv::FILLED);
    }
  }
}

void DrawTree(cv::Mat& bg, cv::Rect rect) {
  const cv::Point base(rect.x + rect.width / 2, rect.br().y);
  const int radius = std::max(2, rect.width / 2);
  cv::line(bg, base, {base.x, base.y - rect.height / 2}, cv::Scalar(30, 60, 90),
           std::max(1, radius / 4));
  cv::circle(bg, {base.x, rect.y + radius}, radius, cv::Scalar(40, 110, 50), cv::FILLED);
}

// Buildings and trees along the far side of the road.
void DrawSkyline(cv::Mat& bg, std::mt19937_64& rng) {
  const int horizon = RoadTop(bg.rows) - std::max(2, bg.rows / 60);
  if (horizon < 8) return;
  int x = UniformInt(rng, 0, bg.cols / 10);
  while (x < bg.cols) {
    const int w = UniformInt(rng, bg.cols / 12, bg.cols / 6) + 2;
    const int h = UniformInt(rng, horizon / 3, horizon * 4 / 5) + 2;
    // Drawing clips to the frame; windows keep their size at the right edge.
    const cv::Rect rect(x, horizon - h, w, h);
    if (Uniform(rng, 0, 1) < 0.7) {
      DrawBuilding(bg, rect, rng);
    } else {
      DrawTree(bg, rect);
    }
    x += w + UniformInt(rng, bg.cols / 40, bg.cols / 10) + 1;
  }
}

// Grass-like texture with fine static grain, the skyline and the road.
cv::Mat MakeBackground(int width, int height, std::mt19937_64& rng, cv::RNG& cv_rng) {
  const cv::Size size(width, height);
  cv::Mat bg = Textured(size, cv::Scalar(70, 125, 85), 0.45, std::max(4, width / 24), cv_rng);
  cv::Mat grain(size, CV_16SC3);
  cv_rng.fill(grain, cv::RNG::UNIFORM, -10, 11);
  cv::Mat bg16;
  bg.convertTo(bg16, CV_16SC3);
  bg16 += grain;
  bg16.convertTo(bg, CV_8UC3);
  DrawSkyline(bg, rng);
  DrawRoad(bg, cv_rng);
  return bg;
}

// A coloured, textured car-like sprite: a rectangle or an ellipse.
void MakeSprite(int w, int h, std::mt19937_64& rng, cv::Mat* sprite, cv::Mat* mask) {
  cv::Mat hsv(
      1, 1, CV_8UC3,
      cv::Scalar(UniformInt(rng, 0, 179), UniformInt(rng, 150, 255), UniformInt(rng, 120, 230)));
  cv::Mat bgr;
  cv::cvtColor(hsv, bgr, cv::COLOR_HSV2BGR);
  const cv::Vec3b c = bgr.at<cv::Vec3b>(0, 0);
  const cv::Scalar colour(c[0], c[1], c[2]);
  const cv::Scalar dark = colour * 0.35;
  cv::RNG cv_rng(rng());
  *sprite = Textured({w, h}, colour, 0.5, std::max(2, std::min(w, h) / 4), cv_rng);
  cv::rectangle(*sprite, cv::Rect(w / 5, h / 6, w * 3 / 5, h / 4), dark, cv::FILLED);
  if (Uniform(rng, 0, 1) < 0.5) {
    cv::line(*sprite, {0, h * 2 / 3}, {w - 1, h * 2 / 3}, colour * 1.4, std::max(1, h / 12));
  }
  cv::rectangle(*sprite, cv::Rect(0, 0, w, h), dark, std::max(1, std::min(w, h) / 20));
  *mask = cv::Mat(h, w, CV_8U, cv::Scalar(255));
  if (Uniform(rng, 0, 1) < 0.4) {
    mask->setTo(0);
    cv::ellipse(*mask, {w / 2, h / 2}, {w / 2, h / 2}, 0, 0, 360, cv::Scalar(255), cv::FILLED);
  }
}

// Keeps a coordinate within [0, max] by bouncing its velocity.
void Bounce(double* position, double* velocity, double max) {
  if (*position < 0) {
    *position = 0;
    *velocity = std::abs(*velocity);
  } else if (*position > max) {
    *position = max;
    *velocity = -std::abs(*velocity);
  }
}

}  // namespace

struct SyntheticScene::Object {
  cv::Mat sprite;  // BGR uint8
  cv::Mat mask;    // uint8, non-zero where the object is
  double x = 0;    // top-left corner in frame pixels; may lie outside
  double y = 0;
  double vx = 0;  // pixels per frame
  double vy = 0;
  double travelled = 0;     // pixels moved along the main direction
  double stop_at = -1;      // travelled distance where it pauses; < 0: never
  int64_t stop_frames = 0;  // pause frames left
  bool horizontal = true;

  bool Gone(int width, int height) const {
    if (horizontal) return vx > 0 ? x >= width : x + sprite.cols <= 0;
    return vy > 0 ? y >= height : y + sprite.rows <= 0;
  }
};

SyntheticScene::SyntheticScene(const SynthOptions& options)
    : options_(options), rng_(options.seed) {}

SyntheticScene::~SyntheticScene() = default;

absl::StatusOr<std::unique_ptr<SyntheticScene>> SyntheticScene::Create(
    const SynthOptions& options) {
  DNS_RETURN_IF_ERROR(CheckSizeAndTime(options));
  DNS_RETURN_IF_ERROR(CheckObjectsAndLook(options));
  std::unique_ptr<SyntheticScene> scene(new SyntheticScene(options));
  cv::RNG cv_rng(scene->rng_());
  try {
    scene->background_ = MakeBackground(options.width, options.height, scene->rng_, cv_rng);
    if (options.noise_sigma > 0) {
      scene->noise_bank_.create(options.height + kNoiseMargin, options.width + kNoiseMargin,
                                CV_16SC3);
      cv_rng.fill(scene->noise_bank_, cv::RNG::NORMAL, 0.0, options.noise_sigma);
    }
  } catch (const cv::Exception& e) {
    return absl::InternalError(fmt::format("cannot build the synthetic scene: {}", e.what()));
  }
  scene->drift_phase_ = Uniform(scene->rng_, 0, 2 * std::numbers::pi);
  return scene;
}

SyntheticScene::Object SyntheticScene::MakeObject() {
  const int W = options_.width;
  const int H = options_.height;
  Object o;
  const int w = std::max(
      4, static_cast<int>(std::lround(W * Uniform(rng_, kMinObjectFraction, kMaxObjectFraction))));
  const int h = std::max(
      4, static_cast<int>(std::lround(H * Uniform(rng_, kMinObjectFraction, kMaxObjectFraction))));
  MakeSprite(w, h, rng_, &o.sprite, &o.mask);
  const double edge = Uniform(rng_, 0, 1);
  o.horizontal = edge < 0.7;
  const bool forward = o.horizontal ? edge < 0.35 : edge < 0.85;
  const double distance = o.horizontal ? W + w : H + h;
  const double seconds = Uniform(rng_, kMinCrossSeconds, kMaxCrossSeconds);
  const double speed = std::max(0.25, distance / (seconds * options_.fps));
  const double drift = speed * Uniform(rng_, -0.05, 0.05);
  if (o.horizontal) {
    const double centre = H * (kRoadCentre + kRoadHalfHeight * Uniform(rng_, -0.5, 0.5));
    o.x = forward ? -w : W;
    o.y = std::clamp(centre - h / 2.0, 0.0, static_cast<double>(H - h));
    o.vx = forward ? speed : -speed;
    o.vy = drift;
  } else {
    o.x = Uniform(rng_, 0, W - w);
    o.y = forward ? -h : H;
    o.vx = drift;
    o.vy = forward ? speed : -speed;
  }
  if (Uniform(rng_, 0, 1) < options_.stop_probability) {
    o.stop_at = distance * Uniform(rng_, 0.35, 0.65);
    o.stop_frames = std::llround(Uniform(rng_, kMinStopSeconds, kMaxStopSeconds) * options_.fps);
  }
  return o;
}

void SyntheticScene::SpawnObjects() {
  const int arrivals = Poisson(rng_, options_.object_rate);
  for (int i = 0; i < arrivals; ++i) {
    Object object = MakeObject();
    if (static_cast<int>(objects_.size()) >= options_.max_objects) continue;
    objects_.push_back(std::move(object));
    ++objects_entered_;
  }
}

void SyntheticScene::MoveObjects() {
  for (Object& o : objects_) {
    if (o.stop_at >= 0 && o.travelled >= o.stop_at && o.stop_frames > 0) {
      --o.stop_frames;
      continue;
    }
    o.x += o.vx;
    o.y += o.vy;
    o.travelled += std::abs(o.horizontal ? o.vx : o.vy);
    if (o.horizontal) {
      Bounce(&o.y, &o.vy, options_.height - o.sprite.rows);
    } else {
      Bounce(&o.x, &o.vx, options_.width - o.sprite.cols);
    }
  }
  std::erase_if(objects_, [&](const Object& o) { return o.Gone(options_.width, options_.height); });
}

void SyntheticScene::Compose(cv::Mat* scene, std::vector<labels::Detection>* truth) const {
  background_.copyTo(*scene);
  truth->clear();
  const cv::Rect frame_rect(0, 0, options_.width, options_.height);
  for (const Object& o : objects_) {
    const cv::Rect box(static_cast<int>(std::lround(o.x)), static_cast<int>(std::lround(o.y)),
                       o.sprite.cols, o.sprite.rows);
    const cv::Rect visible = box & frame_rect;
    if (visible.empty()) continue;
    const cv::Rect in_sprite = visible - box.tl();
    o.sprite(in_sprite).copyTo((*scene)(visible), o.mask(in_sprite));
    if (visible.area() < kMinVisibleFraction * box.area()) continue;
    truth->push_back(labels::Detection{.frame = next_frame_,
                                       .object_name = options_.object_name,
                                       .confidence = 1.0f,
                                       .xmin = static_cast<float>(visible.x),
                                       .ymin = static_cast<float>(visible.y),
                                       .xmax = static_cast<float>(visible.br().x),
                                       .ymax = static_cast<float>(visible.br().y)});
  }
}

void SyntheticScene::ApplyLightAndNoise(const cv::Mat& scene, cv::Mat* frame) {
  const double t = static_cast<double>(next_frame_) / options_.fps;
  const double wave = 0.7 * std::sin(2 * std::numbers::pi * t / kDriftPeriodSlow + drift_phase_) +
                      0.3 * std::sin(2 * std::numbers::pi * t / kDriftPeriodFast);
  const double gain = 1.0 + options_.drift_amplitude * wave;
  if (noise_bank_.empty()) {
    scene.convertTo(*frame, CV_8UC3, gain);
    return;
  }
  cv::Point offset;
  do {
    offset = {UniformInt(rng_, 0, kNoiseMargin), UniformInt(rng_, 0, kNoiseMargin)};
  } while (offset == last_noise_offset_);
  last_noise_offset_ = offset;
  cv::addWeighted(scene, gain, noise_bank_(cv::Rect(offset, scene.size())), 1.0, 0.0, *frame,
                  CV_8U);
}

bool SyntheticScene::Next(cv::Mat* frame, std::vector<labels::Detection>* truth) {
  if (next_frame_ >= options_.frames) return false;
  MoveObjects();
  SpawnObjects();
  Compose(&scene_, truth);
  ApplyLightAndNoise(scene_, frame);
  ++next_frame_;
  return true;
}

}  // namespace dnoscope::video
