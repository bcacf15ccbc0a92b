// deploy/: every YAML file parses (PyYAML, when python3-yaml is installed;
// skipped otherwise), the streams files embedded in the Kubernetes
// ConfigMaps are valid streams lists, the Indexed Job runs one entry per
// pod with as many completions as entries, and the Compose file has the
// multi-camera client.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_env.h"

namespace dnoscope {
namespace {

using testing::CommandResult;
using testing::RunCommand;
using testing::ScratchDir;

// Exits 77 without PyYAML; prints "ok" when every check holds, else why not.
constexpr char kCheck[] = R"PY(
import glob, json, os, sys
try:
    import yaml
except ImportError:
    sys.exit(77)
deploy = sys.argv[1]
files = sorted(glob.glob(os.path.join(deploy, "**", "*.yaml"), recursive=True))
docs = {}
for f in files:
    with open(f) as fh:
        docs[os.path.relpath(f, deploy)] = [d for d in yaml.safe_load_all(fh) if d]
def streams_of(doc):
    entries = json.loads(doc["data"]["streams.json"])
    assert isinstance(entries, list) and entries, "empty streams list"
    names = set()
    for e in entries:
        for key in ("name", "video", "config", "out"):
            assert isinstance(e.get(key), str) and e[key], "entry lacks " + key
        assert e["name"] not in names, "duplicate name " + e["name"]
        names.add(e["name"])
    return entries
job = docs["k8s/videos-job.yaml"]
entries = streams_of([d for d in job if d["kind"] == "ConfigMap"][0])
spec = [d for d in job if d["kind"] == "Job"][0]["spec"]
assert spec["completionMode"] == "Indexed", "the videos Job is not Indexed"
assert spec["completions"] == len(entries), "completions != entries"
args = spec["template"]["spec"]["containers"][0]["args"]
assert "$(JOB_COMPLETION_INDEX)" in args and "--stream-index" in args, "no --stream-index"
cams = docs["k8s/cameras.yaml"]
streams_of([d for d in cams if d["kind"] == "ConfigMap"][0])
deployment = [d for d in cams if d["kind"] == "Deployment"][0]
assert "--streams" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
compose = docs["compose.yaml"][0]
assert "--streams" in compose["services"]["cameras"]["command"], "no multi-camera client"
print("ok", len(files))
)PY";

TEST(DeployYamlTest, ManifestsParseAndCarryValidStreamsFiles) {
  ScratchDir dir;
  testing::WriteFile(dir.File("check.py"), kCheck);
  CommandResult r =
      RunCommand("python3 " + dir.File("check.py") + " " + testing::SourceDir() + "/deploy");
  if (r.exit_code == 77) GTEST_SKIP() << "python3-yaml not installed; skipping";
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::StartsWith("ok "));
}

}  // namespace
}  // namespace dnoscope
