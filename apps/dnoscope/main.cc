// dnoscope: Distributed NoScope. One binary, one subcommand per job; this
// file only wires subcommands to the command line and turns errors into a
// message and an exit code.
#include <malloc.h>

#include <cstdio>
#include <vector>

#include "commands.h"
#include "common/logging.h"

namespace {

// Frames and their tensors are megabytes each and pass between threads.
// With glibc's defaults such blocks are mmapped and returned to the kernel
// on every free, so each frame page-faults its buffers in again: on
// vtest.avi with every frame sent to a zero-cost reference that was 120
// page faults per frame and a quarter of the run's time. Keeping freed
// memory (up to the trim threshold) for reuse removes that; memory stays
// bounded by the cascade's frame limits.
void TuneAllocatorForFrames() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  TuneAllocatorForFrames();
  CLI::App app{
      "dnoscope - which frames of this fixed-camera video contain a <person|car|...>?\n"
      "A NoScope cascade: difference detector -> specialized CNN -> reference detector."};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log level: trace, debug, info, warn, error, off")
      ->capture_default_str();
  std::vector<dnoscope::app::Command> commands = {
      dnoscope::app::AddSynthCommand(app), dnoscope::app::AddLabelCommand(app),
      dnoscope::app::AddRunCommand(app), dnoscope::app::AddEvalCommand(app),
      dnoscope::app::AddTrainCommand(app),     dnoscope::app::AddExportCommand(app),    dnoscope::app::AddOptimizeCommand(app),
      dnoscope::app::AddServeCommand(app),    dnoscope::app::AddBenchCommand(app),
      dnoscope::app::AddInfoCommand(app)};
  CLI11_PARSE(app, argc, argv);
  dnoscope::SetupLogging(log_level);
  for (const dnoscope::app::Command& command : commands) {
    if (!command.app->parsed()) continue;
    const absl::Status status = command.run();
    if (!status.ok()) {
      std::fprintf(stderr, "dnoscope %s: error: %s\n", command.app->get_name().c_str(),
                   std::string(status.message()).c_str());
      return 1;
    }
  }
  return 0;
}
