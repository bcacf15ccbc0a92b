// `dnoscope serve`: the model server. Serves every model of a model
// repository over KServe v2 and TF Serving REST (and KServe v2 gRPC with
// --grpc-port) until SIGTERM/SIGINT, then
// drains in-flight requests and exits.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include "commands.h"
#include "common/status_macros.h"
#include "fmt/format.h"
#include "serving/grpc/grpc_server.h"
#include "serving/http/server.h"
#include "serving/inference_service.h"
#include "serving/metrics.h"
#include "serving/model_manager.h"
#include "serving/rest/rest_handler.h"
#include "spdlog/spdlog.h"

namespace dnoscope::app {
namespace {

struct ServeArgs {
  std::string repository;
  serving::http::HttpServerOptions http;
  serving::ModelManagerOptions manager;
  int64_t max_body_mb = 64;
  int64_t max_header_kb = 64;
  int64_t timeout_ms = 0;
  int64_t idle_timeout_s = 60;
  int64_t drain_timeout_s = 30;
  double repository_poll_s = 0;
  std::string port_file;
  // -1: no gRPC front end.
  int grpc_port = -1;
  std::string grpc_port_file;
};

absl::Status WritePortFile(const std::string& path, int port) {
  if (path.empty()) return absl::OkStatus();
  // Write then rename, so that a reader never sees a half-written file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out) return absl::InternalError(fmt::format("cannot write port file '{}'", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(fmt::format("cannot rename '{}' to '{}'", tmp, path));
  }
  return absl::OkStatus();
}

absl::Status Serve(ServeArgs& args) {
  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  serving::MetricsRegistry metrics;
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<serving::ModelManager> models,
                       serving::ModelManager::Create(args.repository, args.manager, &metrics));
  serving::InferenceServiceOptions service_options;
  service_options.default_timeout = std::chrono::milliseconds(args.timeout_ms);
  DNS_ASSIGN_OR_RETURN(std::unique_ptr<serving::InferenceService> service,
                       serving::InferenceService::Create(service_options, models.get()));
  serving::rest::RestOptions rest;
  rest.max_body_bytes = static_cast<size_t>(args.max_body_mb) << 20;
  if (args.repository_poll_s > 0) {
    DNS_RETURN_IF_ERROR(models->StartPolling(std::chrono::duration_cast<Clock::Duration>(
        std::chrono::duration<double>(args.repository_poll_s))));
    spdlog::info("polling '{}' every {} s for new, changed and removed models", args.repository,
                 args.repository_poll_s);
  }
  serving::rest::RestHandler handler(service.get(), rest);
  args.http.max_body_bytes = rest.max_body_bytes;
  args.http.max_header_bytes = static_cast<size_t>(args.max_header_kb) << 10;
  args.http.idle_timeout = std::chrono::seconds(args.idle_timeout_s);
  args.http.drain_timeout = std::chrono::seconds(args.drain_timeout_s);
  DNS_ASSIGN_OR_RETURN(
      std::unique_ptr<serving::http::HttpServer> server,
      serving::http::HttpServer::Start(args.http, [&handler](serving::http::HttpRequest request,
                                                             serving::http::Responder respond) {
        handler.Handle(std::move(request), std::move(respond));
      }));
  std::unique_ptr<serving::grpc::GrpcServer> grpc;
  if (args.grpc_port >= 0) {
    serving::grpc::GrpcServerOptions grpc_options;
    grpc_options.host = args.http.host;
    grpc_options.port = args.grpc_port;
    grpc_options.max_message_bytes = rest.max_body_bytes;
    grpc_options.drain_timeout = args.http.drain_timeout;
    DNS_ASSIGN_OR_RETURN(grpc, serving::grpc::GrpcServer::Start(grpc_options, service.get()));
    DNS_RETURN_IF_ERROR(WritePortFile(args.grpc_port_file, grpc->port()));
    spdlog::info("serving KServe v2 gRPC on {}:{}", args.http.host, grpc->port());
  }
  DNS_RETURN_IF_ERROR(WritePortFile(args.port_file, server->port()));
  spdlog::info("serving {} model(s) from '{}' on http://{}:{} ({} I/O threads); ready: {}",
               models->models().size(), args.repository, args.http.host, server->port(),
               args.http.io_threads, models->ready() ? "yes" : "no");
  int signal = 0;
  sigwait(&stop_signals, &signal);
  spdlog::info("{} received: draining {} in-flight request(s)", strsignal(signal),
               server->in_flight());
  // Both front ends drain at once: each waits for its own in-flight requests.
  std::jthread grpc_stop([&grpc] {
    if (grpc) grpc->Shutdown();
  });
  server->Shutdown();
  grpc_stop.join();
  models->Shutdown();
  spdlog::info("stopped");
  return absl::OkStatus();
}

}  // namespace

Command AddServeCommand(CLI::App& root) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* app = root.add_subcommand(
      "serve",
      "Serve the models of a model repository over HTTP: KServe v2 / Open Inference Protocol "
      "(/v2/...) with Triton's repository (/v2/repository/...) and statistics "
      "(/v2/models[/{m}[/versions/{v}]]/stats) extensions, TF Serving REST (/v1/models/...) and "
      "Prometheus metrics (/metrics); with --grpc-port also KServe v2 gRPC "
      "(inference.GRPCInferenceService). Request bodies may be gzip/deflate compressed "
      "(Content-Encoding; the body limit applies after decompression) and responses are "
      "compressed when Accept-Encoding allows. Each model's config.json \"version_policy\" "
      "({\"latest\":{\"num_versions\":N}} (default N=1), {\"all\":{}} or "
      "{\"specific\":{\"versions\":[..]}}) selects the version folders served. "
      "Stops gracefully on SIGTERM/SIGINT.");
  app->add_option("--model-repository", args->repository,
                  "Model repository: <dir>/<model>/config.json and <dir>/<model>/<version>/")
      ->required();
  app->add_option("--host", args->http.host, "Address to listen on")->capture_default_str();
  app->add_option("--http-port", args->http.port, "TCP port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app->add_option("--grpc-port", args->grpc_port,
                  "Also serve KServe v2 gRPC (inference.GRPCInferenceService) on this TCP port, on "
                  "the same --host (0: any free port; Triton uses 8001). Off unless given")
      ->check(CLI::Range(0, 65535));
  app->add_option("--grpc-port-file", args->grpc_port_file,
                  "Write the bound gRPC port to this file once listening (with --grpc-port 0)");
  app->add_option("--threads", args->http.io_threads,
                  "HTTP I/O threads (models run on their own instance threads)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app->add_option("--max-body-mb", args->max_body_mb,
                  "Largest request body in MiB, after decompression (413 above), also the "
                  "largest gRPC message (RESOURCE_EXHAUSTED above)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  app->add_option("--max-header-kb", args->max_header_kb,
                  "Largest request line + headers in KiB (431 above)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app->add_option("--max-queue", args->manager.max_queue_size,
                  "Requests queued per model version before new ones get 503")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  app->add_option("--timeout-ms", args->timeout_ms,
                  "Default request deadline; requests still queued past it get 504 (0: none; a "
                  "KServe request's \"timeout\" parameter, in microseconds, overrides it)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{86400000}));
  app->add_option("--idle-timeout-s", args->idle_timeout_s,
                  "Close keep-alive connections idle this long")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  app->add_option("--drain-timeout-s", args->drain_timeout_s,
                  "On SIGTERM, wait this long for in-flight requests")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  app->add_flag("--strict-readiness,!--no-strict-readiness", args->manager.strict_readiness,
                "/v2/health/ready needs every model READY (else: any)")
      ->capture_default_str();
  app->add_option("--repository-poll-s", args->repository_poll_s,
                  "Rescan the repository this often while serving (0: load it once): new "
                  "models and versions are loaded, versions whose files or config.json changed "
                  "are reloaded, removed ones unloaded; a new version is loaded before the one it "
                  "replaces is unloaded, and requests in flight finish on the old one. "
                  "POST /v2/repository/models/{m}/load|unload work with or without polling")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  app->add_option("--port-file", args->port_file,
                  "Write the bound port to this file once listening (for scripts using port 0)");
  return {app, [args] { return Serve(*args); }};
}

}  // namespace dnoscope::app
