// Replay models for cascade tests: a repository whose reference and
// specialized stages answer from one label CSV, so that a run over any video
// mixes every kind of decision deterministically.
//   <repo>/ref   replay detector of the CSV's boxes (config `ref_config`)
//   <repo>/spec  replay classifier: 0.5 (unsure: on to the reference) on
//                every third labeled frame, 1 (certain) on the others;
//                merges batches up to 16
// Header-only; link dnoscope_labels. Thread-safety: one call per `repo`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "labels/label_csv.h"
#include "testing/test_env.h"

namespace dnoscope::testing {

inline constexpr char kReplayDetectorConfig[] =
    R"({"backend": "replay", "files": {"labels": "labels.csv"}})";

inline absl::Status WriteUnsureReplayModels(const std::string& repo, const std::string& labels_csv,
                                            const std::string& ref_config = kReplayDetectorConfig) {
  namespace fs = std::filesystem;
  fs::create_directories(repo + "/ref/1");
  fs::create_directories(repo + "/spec/1");
  fs::copy_file(labels_csv, repo + "/ref/1/labels.csv", fs::copy_options::overwrite_existing);
  WriteFile(repo + "/ref/config.json", ref_config);
  absl::StatusOr<std::vector<labels::Detection>> rows = labels::ReadLabelCsv(labels_csv);
  if (!rows.ok()) return rows.status();
  for (labels::Detection& d : *rows) d.confidence = d.frame % 3 == 0 ? 0.5f : 1.0f;
  WriteFile(repo + "/spec/config.json",
            R"({"backend": "replay", "kind": "classifier", "files": {"labels": "labels.csv"},
                "max_batch_size": 16})");
  return labels::WriteLabelCsv(repo + "/spec/1/labels.csv", *rows);
}

}  // namespace dnoscope::testing
