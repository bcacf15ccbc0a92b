// FakeTransport: a client::Transport without sockets. Inference calls wait
// until the test answers them, so RemoteModel's balancing, retry, priority,
// withdrawal and patience decisions can be stepped through one reply at a
// time (with a FakeClock for back-offs, probes and patience):
//
//   auto transport = std::make_unique<testing::FakeTransport>(2);
//   testing::FakeTransport* fake = transport.get();   // the model owns it
//   auto model = client::RemoteModel::Create(std::move(transport), options, {}, &clock);
//   (*model)->InferAsync({.inputs = {t}}, done);
//   ASSERT_TRUE(fake->WaitForCalls(1));
//   fake->Reply(0, absl::UnavailableError("down"));   // RemoteModel reacts on this thread
//
// Probes are answered at once from SetReady (default: ready); metadata
// fetches from SetMetadata (default: a model called as asked).
//
// Thread-safety: all methods are thread-safe. Reply and Shutdown run the
// callbacks on the calling thread, without the fake's lock held.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/transport.h"
#include "common/mutex.h"
#include "fmt/format.h"

namespace dnoscope::testing {

class FakeTransport final : public client::Transport {
 public:
  // One Infer call as the fake saw it; `id` numbers calls from 0 in order.
  struct Call {
    int64_t id = 0;
    size_t endpoint = 0;
    std::string model;
    int64_t version = -1;
    std::vector<Tensor> inputs;
    std::vector<std::string> outputs;
    Clock::TimePoint deadline;
  };

  // Endpoints 10.0.0.1:8000, 10.0.0.2:8000, ...
  explicit FakeTransport(size_t endpoints, std::string name = "fake") : name_(std::move(name)) {
    for (size_t i = 0; i < endpoints; ++i) {
      endpoints_.push_back({fmt::format("10.0.0.{}", i + 1), 8000});
    }
    ready_.assign(endpoints, true);
    probes_.assign(endpoints, 0);
  }

  // client::Transport.
  const std::vector<client::Endpoint>& endpoints() const override { return endpoints_; }
  std::string_view name() const override { return name_; }

  absl::StatusOr<std::shared_ptr<const client::PreparedCall>> Prepare(
      const client::InferSpec& spec) override {
    MutexLock lock(&mu_);
    if (!prepare_error_.ok()) return prepare_error_;
    return std::make_shared<const Prepared>(spec);
  }

  void Infer(size_t endpoint, std::shared_ptr<const client::PreparedCall> call,
             Clock::TimePoint deadline, InferDone done) override {
    const auto& spec = static_cast<const Prepared&>(*call).spec;
    {
      MutexLock lock(&mu_);
      if (!shut_down_) {
        const int64_t id = static_cast<int64_t>(calls_.size());
        calls_.push_back({id, endpoint, spec.model, spec.version, spec.inputs, spec.outputs,
                          deadline});
        pending_.emplace(id, std::move(done));
        changed_.SignalAll();
        return;
      }
    }
    done(absl::CancelledError("fake transport shut down"));
  }

  void Probe(size_t endpoint, const std::string&, Clock::TimePoint, ProbeDone done) override {
    bool ready = false;
    {
      MutexLock lock(&mu_);
      ++probes_[endpoint];
      ready = ready_[endpoint] && !shut_down_;
      changed_.SignalAll();
    }
    done(ready ? absl::OkStatus() : absl::UnavailableError("fake endpoint not ready"));
  }

  absl::StatusOr<models::ModelMetadata> FetchMetadata(size_t endpoint, const std::string& model,
                                                      int64_t, Clock::TimePoint) override {
    MutexLock lock(&mu_);
    ++metadata_fetches_;
    auto it = metadata_.find(endpoint);
    if (it != metadata_.end()) return it->second;
    models::ModelMetadata m;
    m.name = model;
    return m;
  }

  void Shutdown() override {
    std::map<int64_t, InferDone> pending;
    {
      MutexLock lock(&mu_);
      shut_down_ = true;
      pending.swap(pending_);
    }
    for (auto& [id, done] : pending) done(absl::CancelledError("fake transport shut down"));
  }

  // Test side.

  // Answers call `id` with `result`, running its callback here. False when
  // the call does not exist or was answered already.
  bool Reply(int64_t id, absl::StatusOr<std::vector<Tensor>> result) {
    InferDone done;
    {
      MutexLock lock(&mu_);
      auto it = pending_.find(id);
      if (it == pending_.end()) return false;
      done = std::move(it->second);
      pending_.erase(it);
    }
    done(std::move(result));
    return true;
  }

  // Answers call `id` with its own inputs.
  bool ReplyEcho(int64_t id) { return Reply(id, call(id).inputs); }

  // Blocks until `n` Infer calls were made in total, or `real_timeout` of
  // real time passed (a hang fails the test instead of blocking it).
  bool WaitForCalls(size_t n, std::chrono::milliseconds real_timeout = std::chrono::seconds(30)) {
    const auto give_up = std::chrono::steady_clock::now() + real_timeout;
    MutexLock lock(&mu_);
    while (calls_.size() < n) {
      if (changed_.WaitUntil(&mu_, give_up)) return calls_.size() >= n;
    }
    return true;
  }

  // Every Infer call so far, in order.
  std::vector<Call> calls() const {
    MutexLock lock(&mu_);
    return calls_;
  }
  Call call(int64_t id) const {
    MutexLock lock(&mu_);
    return calls_.at(static_cast<size_t>(id));
  }
  size_t call_count() const {
    MutexLock lock(&mu_);
    return calls_.size();
  }
  // Ids of the calls not answered yet, in order.
  std::vector<int64_t> pending() const {
    MutexLock lock(&mu_);
    std::vector<int64_t> ids;
    for (const auto& [id, done] : pending_) ids.push_back(id);
    return ids;
  }

  // Whether probes of `endpoint` succeed (default true).
  void SetReady(size_t endpoint, bool ready) {
    MutexLock lock(&mu_);
    ready_[endpoint] = ready;
  }
  int probes(size_t endpoint) const {
    MutexLock lock(&mu_);
    return probes_[endpoint];
  }

  // What FetchMetadata returns for `endpoint`.
  void SetMetadata(size_t endpoint, absl::StatusOr<models::ModelMetadata> metadata) {
    MutexLock lock(&mu_);
    metadata_.insert_or_assign(endpoint, std::move(metadata));
  }
  int metadata_fetches() const {
    MutexLock lock(&mu_);
    return metadata_fetches_;
  }

  // Makes Prepare fail with `status` (OK: succeed again).
  void SetPrepareError(absl::Status status) {
    MutexLock lock(&mu_);
    prepare_error_ = std::move(status);
  }

 private:
  struct Prepared final : client::PreparedCall {
    explicit Prepared(client::InferSpec s) : spec(std::move(s)) {}
    int64_t byte_size() const override {
      int64_t bytes = 0;
      for (const Tensor& t : spec.inputs) bytes += static_cast<int64_t>(t.data.size());
      return bytes;
    }
    const client::InferSpec spec;
  };

  const std::string name_;
  std::vector<client::Endpoint> endpoints_;
  mutable Mutex mu_;
  CondVar changed_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, InferDone> pending_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> ready_ ABSL_GUARDED_BY(mu_);
  std::vector<int> probes_ ABSL_GUARDED_BY(mu_);
  std::map<size_t, absl::StatusOr<models::ModelMetadata>> metadata_ ABSL_GUARDED_BY(mu_);
  int metadata_fetches_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status prepare_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dnoscope::testing
