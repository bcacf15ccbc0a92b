// `dnoscope export`: copy an ONNX model of a dnoscope model repository into a
// Triton Inference Server model repository (config.pbtxt + <version>/model.onnx).
#include <cstdio>

#include "commands.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "models/triton_export.h"

namespace dnoscope::app {

absl::Status ExportToTriton(const models::TritonExportOptions& options) {
  DNS_ASSIGN_OR_RETURN(models::TritonExport e, models::ExportForTriton(options));
  const models::TritonModelConfig& c = e.config;
  std::string batching =
      c.max_batch_size > 0
          ? fmt::format("max_batch_size {}, dynamic batching", c.max_batch_size)
          : std::string(
                "max_batch_size 0: the graph's first dimension is fixed, so Triton "
                "serves it unbatched with the full shapes");
  std::vector<std::string> inputs, outputs;
  for (const auto& t : c.inputs)
    inputs.push_back(fmt::format("{} {} [{}]", t.name, t.data_type, fmt::join(t.dims, ",")));
  for (const auto& t : c.outputs)
    outputs.push_back(fmt::format("{} {} [{}]", t.name, t.data_type, fmt::join(t.dims, ",")));
  std::printf("wrote Triton model '%s' version %lld -> %s\n  inputs %s; outputs %s; %s\n",
              c.name.c_str(), static_cast<long long>(e.version), e.onnx_path.c_str(),
              fmt::format("{}", fmt::join(inputs, ", ")).c_str(),
              fmt::format("{}", fmt::join(outputs, ", ")).c_str(), batching.c_str());
  return absl::OkStatus();
}

void AddTritonHelp(CLI::App* sub) {
  sub->footer(
      "Triton layout (DIR = --triton-repository):\n"
      "  DIR/<name>/config.pbtxt          platform \"onnxruntime_onnx\", backend \"onnxruntime\";\n"
      "                                   input/output names, data types and dims read from the\n"
      "                                   ONNX graph; max_batch_size + dynamic_batching when the\n"
      "                                   graph's first dimension is symbolic, else\n"
      "                                   max_batch_size 0 with the full shapes; instance count,\n"
      "                                   preferred batch sizes, queue delay from config.json\n"
      "  DIR/<name>/<version>/model.onnx  the graph, under the same version number\n"
      "Serve it with Triton's ONNX Runtime backend (HTTP 8000, gRPC 8001):\n"
      "  docker run --rm -p 8000:8000 -p 8001:8001 -v $PWD/DIR:/models \\\n"
      "    nvcr.io/nvidia/tritonserver:24.08-py3 tritonserver --model-repository=/models");
}

Command AddExportCommand(CLI::App& root) {
  auto options = std::make_shared<models::TritonExportOptions>();
  CLI::App* sub = root.add_subcommand(
      "export",
      "Export an ONNX model of a model repository (e.g. a specialized CNN written by "
      "`dnoscope train`) as a Triton Inference Server model for its ONNX Runtime backend");
  sub->add_option("--model-repository", options->repository, "dnoscope model repository root")
      ->required();
  sub->add_option("--model", options->model, "Model name in the repository")->required();
  sub->add_option("--model-version", options->version, "Version to export (-1: the highest)")
      ->capture_default_str();
  sub->add_option("--triton-repository", options->triton_repository,
                  "Triton model repository to write into (created when missing)")
      ->required();
  sub->add_option("--triton-name", options->triton_name,
                  "Model name in the Triton repository (default: --model)");
  sub->add_option("--max-batch-size", options->max_batch_size,
                  "Triton max_batch_size (0: config.json's, 64 when that is 0); ignored when the "
                  "graph has a fixed batch dimension")
      ->capture_default_str();
  AddTritonHelp(sub);
  return {sub, [options] { return ExportToTriton(*options); }};
}

}  // namespace dnoscope::app
