#include "streams/stream_list.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "video/frame_source.h"

namespace dnoscope::streams {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kRequired[] = {"name", "video", "config", "out"};
constexpr const char* kOptional[] = {"roi", "frames", "skip"};

absl::Status EntryError(size_t index, std::string_view name, std::string_view what) {
  return absl::InvalidArgumentError(
      fmt::format("streams file: {}: {}", EntryLabel(index, name), what));
}

std::string Resolve(const std::string& path, const std::string& base_dir) {
  if (base_dir.empty() || fs::path(path).is_absolute()) return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

// The entry's name when it has a usable one (for messages about the rest).
std::string NameOf(const json& entry) {
  if (!entry.is_object()) return "";
  auto it = entry.find("name");
  return it != entry.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<StreamEntry> ParseEntry(const json& j, size_t index, const std::string& base_dir) {
  const std::string name = NameOf(j);
  if (!j.is_object()) return EntryError(index, name, "is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const bool known = std::find_if(std::begin(kRequired), std::end(kRequired), [&](auto k) {
                         return it.key() == k;
                       }) != std::end(kRequired) ||
                       std::find_if(std::begin(kOptional), std::end(kOptional),
                                    [&](auto k) { return it.key() == k; }) != std::end(kOptional);
    if (!known) {
      return EntryError(index, name,
                        fmt::format("unknown field \"{}\" (fields: name, video, config, out, roi, "
                                    "frames, skip)",
                                    it.key()));
    }
  }
  StreamEntry e;
  std::string* fields[] = {&e.name, &e.video, &e.config, &e.out};
  for (size_t i = 0; i < std::size(kRequired); ++i) {
    auto it = j.find(kRequired[i]);
    if (it == j.end()) return EntryError(index, name, fmt::format("missing \"{}\"", kRequired[i]));
    if (!it->is_string() || it->get<std::string>().empty()) {
      return EntryError(index, name,
                        fmt::format("\"{}\" must be a non-empty string", kRequired[i]));
    }
    *fields[i] = it->get<std::string>();
  }
  if (!video::IsLiveUri(e.video)) e.video = Resolve(e.video, base_dir);
  e.config = Resolve(e.config, base_dir);
  if (e.out != "-") e.out = Resolve(e.out, base_dir);
  if (auto it = j.find("roi"); it != j.end()) {
    std::string text;
    if (it->is_string()) {
      text = it->get<std::string>();
    } else if (it->is_array() && it->size() == 4 &&
               std::all_of(it->begin(), it->end(), [](const json& v) { return v.is_number_integer(); })) {
      text = fmt::format("{},{},{},{}", (*it)[0].get<int>(), (*it)[1].get<int>(),
                         (*it)[2].get<int>(), (*it)[3].get<int>());
    }
    absl::StatusOr<Roi> roi = !text.empty() ? ParseRoi(text)
                                            : absl::InvalidArgumentError("not a string or array");
    if (!roi.ok()) {
      return EntryError(index, name,
                        fmt::format("\"roi\" must be \"X0,Y0,X1,Y1\" or [X0, Y0, X1, Y1]: {}", std::string(roi.status().message())));
    }
    e.roi = *roi;
  }
  if (auto it = j.find("frames"); it != j.end()) {
    absl::StatusOr<FrameRange> range = it->is_string() ? ParseFrameRange(it->get<std::string>())
                                                       : absl::InvalidArgumentError("not a string");
    if (!range.ok()) {
      return EntryError(index, name, fmt::format("\"frames\" must be \"START:END\": {}",
                                                 std::string(range.status().message())));
    }
    e.frames = *range;
  }
  if (auto it = j.find("skip"); it != j.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 1000000) {
      return EntryError(index, name, "\"skip\" must be an integer >= 1");
    }
    e.skip = it->get<int>();
  }
  return e;
}

}  // namespace

std::string EntryLabel(size_t index, std::string_view name) {
  return name.empty() ? fmt::format("entry {}", index + 1)
                      : fmt::format("entry {} (\"{}\")", index + 1, name);
}

absl::StatusOr<std::vector<StreamEntry>> ParseStreamList(std::string_view json_text,
                                                         const std::string& base_dir) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& ex) {
    return absl::InvalidArgumentError(fmt::format("streams file is not valid JSON: {}", ex.what()));
  }
  if (!doc.is_array() || doc.empty()) {
    return absl::InvalidArgumentError(
        "streams file must be a non-empty JSON list of {\"name\", \"video\", \"config\", \"out\"} "
        "entries");
  }
  std::vector<StreamEntry> entries;
  std::map<std::string, size_t> names, outs;
  for (size_t i = 0; i < doc.size(); ++i) {
    DNS_ASSIGN_OR_RETURN(StreamEntry e, ParseEntry(doc[i], i, base_dir));
    if (auto [it, added] = names.emplace(e.name, i); !added) {
      return EntryError(i, e.name, fmt::format("duplicate name, already used by entry {}",
                                               it->second + 1));
    }
    if (auto [it, added] = outs.emplace(e.out, i); !added) {
      return EntryError(i, e.name,
                        fmt::format("\"out\" '{}' is also the output of {}", e.out,
                                    EntryLabel(it->second, entries[it->second].name)));
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

absl::Status CheckStreamFiles(const std::vector<StreamEntry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const StreamEntry& e = entries[i];
    if (!std::ifstream(e.config).good()) {
      return absl::NotFoundError(fmt::format("streams file: {}: config '{}' cannot be read",
                                             EntryLabel(i, e.name), e.config));
    }
    if (video::IsLiveUri(e.video)) continue;
    absl::StatusOr<video::VideoInfo> info = video::ProbeVideo(e.video);
    if (!info.ok()) {
      return absl::Status(info.status().code(),
                          fmt::format("streams file: {}: video '{}': {}", EntryLabel(i, e.name),
                                      e.video, std::string(info.status().message())));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StreamEntry>> LoadStreamList(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("streams file '{}' cannot be read", path));
  std::stringstream text;
  text << in.rdbuf();
  const std::string base = fs::path(path).parent_path().string();
  absl::StatusOr<std::vector<StreamEntry>> entries = ParseStreamList(text.str(), base);
  if (!entries.ok()) {
    return absl::Status(entries.status().code(),
                        fmt::format("'{}': {}", path, std::string(entries.status().message())));
  }
  return entries;
}

absl::StatusOr<std::vector<StreamEntry>> ReadStreamList(const std::string& path) {
  DNS_ASSIGN_OR_RETURN(std::vector<StreamEntry> entries, LoadStreamList(path));
  DNS_RETURN_IF_ERROR(CheckStreamFiles(entries));
  return entries;
}

}  // namespace dnoscope::streams
