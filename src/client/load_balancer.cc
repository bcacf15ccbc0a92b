#include "client/load_balancer.h"

#include <algorithm>
#include <array>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace dnoscope::client {
namespace {

constexpr std::array<std::pair<std::string_view, BalancePolicy>, 3> kPolicyNames = {{
    {"random", BalancePolicy::kRandom},
    {"round-robin", BalancePolicy::kRoundRobin},
    {"p2c", BalancePolicy::kPowerOfTwo},
}};

// Ejection levels beyond this cannot lengthen the backoff any further.
constexpr int kMaxEjectionLevel = 62;

absl::Status ValidateOptions(const LoadBalancerOptions& options) {
  if (options.max_in_flight_per_endpoint < 1) {
    return absl::InvalidArgumentError("max_in_flight_per_endpoint must be >= 1");
  }
  if (options.eject_after_failures < 1) {
    return absl::InvalidArgumentError("eject_after_failures must be >= 1");
  }
  if (options.eject_base <= std::chrono::milliseconds::zero()) {
    return absl::InvalidArgumentError("eject_base must be positive");
  }
  if (options.eject_max < options.eject_base) {
    return absl::InvalidArgumentError("eject_max must be >= eject_base");
  }
  return absl::OkStatus();
}

absl::Status ValidateEndpoints(const std::vector<Endpoint>& endpoints) {
  if (endpoints.empty()) return absl::InvalidArgumentError("no endpoints to balance over");
  std::set<Endpoint> seen;
  for (const Endpoint& endpoint : endpoints) {
    if (endpoint.host.empty() || endpoint.port < 1 || endpoint.port > 65535) {
      return absl::InvalidArgumentError(fmt::format("invalid endpoint '{}'", endpoint.ToString()));
    }
    if (!seen.insert(endpoint).second) {
      return absl::InvalidArgumentError(
          fmt::format("duplicate endpoint '{}'", endpoint.ToString()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BalancePolicy> ParseBalancePolicy(std::string_view name) {
  for (const auto& [policy_name, policy] : kPolicyNames) {
    if (name == policy_name) return policy;
  }
  return absl::InvalidArgumentError(fmt::format(
      "unknown balance policy '{}' (expected random, round-robin or p2c)", std::string(name)));
}

std::string_view BalancePolicyName(BalancePolicy policy) {
  for (const auto& [policy_name, candidate] : kPolicyNames) {
    if (candidate == policy) return policy_name;
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<LoadBalancer>> LoadBalancer::Create(
    std::vector<Endpoint> endpoints, const LoadBalancerOptions& options, Clock* clock) {
  if (clock == nullptr) return absl::InvalidArgumentError("clock must not be null");
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;
  if (absl::Status status = ValidateEndpoints(endpoints); !status.ok()) return status;
  return std::unique_ptr<LoadBalancer>(new LoadBalancer(std::move(endpoints), options, clock));
}

LoadBalancer::LoadBalancer(std::vector<Endpoint> endpoints, const LoadBalancerOptions& options,
                           Clock* clock)
    : endpoints_(std::move(endpoints)),
      options_(options),
      clock_(clock),
      states_(endpoints_.size()),
      rng_(options.seed),
      // So that the first round-robin pick is endpoint 0.
      last_pick_(endpoints_.size() - 1) {}

std::optional<size_t> LoadBalancer::Pick(std::span<const size_t> exclude) {
  MutexLock lock(&mu_);
  std::vector<size_t> eligible;
  eligible.reserve(states_.size());
  for (size_t i = 0; i < states_.size(); ++i) {
    if (IsEligible(i, exclude)) eligible.push_back(i);
  }
  std::optional<size_t> picked = Choose(eligible);
  if (picked.has_value()) {
    EndpointState& state = states_[*picked];
    ++state.in_flight;
    ++state.requests;
  }
  return picked;
}

bool LoadBalancer::IsEligible(size_t i, std::span<const size_t> exclude) const {
  const EndpointState& state = states_[i];
  return state.state == State::kHealthy && state.in_flight < options_.max_in_flight_per_endpoint &&
         std::find(exclude.begin(), exclude.end(), i) == exclude.end();
}

std::optional<size_t> LoadBalancer::Choose(const std::vector<size_t>& eligible) {
  if (eligible.empty()) return std::nullopt;
  switch (options_.policy) {
    case BalancePolicy::kRandom:
      return eligible[UniformBelow(eligible.size())];
    case BalancePolicy::kRoundRobin: {
      // `eligible` is sorted: take the first index after the previous pick,
      // wrapping around to the smallest.
      auto next = std::upper_bound(eligible.begin(), eligible.end(), last_pick_);
      last_pick_ = next != eligible.end() ? *next : eligible.front();
      return last_pick_;
    }
    case BalancePolicy::kPowerOfTwo:
      return ChoosePowerOfTwo(eligible);
  }
  return std::nullopt;
}

size_t LoadBalancer::ChoosePowerOfTwo(const std::vector<size_t>& eligible) {
  if (eligible.size() == 1) return eligible.front();
  // Two distinct samples: the second is drawn from the remaining size - 1.
  const size_t first = UniformBelow(eligible.size());
  size_t second = UniformBelow(eligible.size() - 1);
  if (second >= first) ++second;
  const EndpointState& a = states_[eligible[first]];
  const EndpointState& b = states_[eligible[second]];
  // On a full tie the first sample wins, which is itself uniform.
  const bool b_better =
      b.in_flight < a.in_flight || (b.in_flight == a.in_flight && b.requests < a.requests);
  return eligible[b_better ? second : first];
}

size_t LoadBalancer::UniformBelow(size_t n) {
  // Rejection sampling instead of std::uniform_int_distribution, whose
  // output differs between standard libraries; picks stay reproducible.
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = kMax - kMax % n;
  uint64_t x = rng_();
  while (x >= limit) x = rng_();
  return static_cast<size_t>(x % n);
}

void LoadBalancer::Release(size_t endpoint, bool success) {
  // Only a failure can eject, which needs the time; read it outside the lock.
  const Clock::TimePoint now = success ? Clock::TimePoint() : clock_->Now();
  MutexLock lock(&mu_);
  if (endpoint >= states_.size() || states_[endpoint].in_flight == 0) return;
  EndpointState& state = states_[endpoint];
  --state.in_flight;
  if (success) {
    state.consecutive_failures = 0;
    if (state.state == State::kProbing) Readmit(endpoint);
    if (state.state == State::kHealthy) state.ejection_level = 0;
    return;
  }
  ++state.failures;
  if (state.state != State::kHealthy) return;  // Already out; the probe decides.
  if (++state.consecutive_failures >= options_.eject_after_failures) Eject(endpoint, now);
}

std::vector<size_t> LoadBalancer::DueForProbe() {
  const Clock::TimePoint now = clock_->Now();
  MutexLock lock(&mu_);
  std::vector<size_t> due;
  for (size_t i = 0; i < states_.size(); ++i) {
    EndpointState& state = states_[i];
    if (state.state == State::kEjected && state.ejected_until <= now) {
      state.state = State::kProbing;
      due.push_back(i);
    }
  }
  return due;
}

void LoadBalancer::ProbeResult(size_t endpoint, bool healthy) {
  const Clock::TimePoint now = healthy ? Clock::TimePoint() : clock_->Now();
  MutexLock lock(&mu_);
  if (endpoint >= states_.size() || states_[endpoint].state != State::kProbing) return;
  if (healthy) {
    Readmit(endpoint);
  } else {
    Eject(endpoint, now);
  }
}

void LoadBalancer::Eject(size_t i, Clock::TimePoint now) {
  EndpointState& state = states_[i];
  state.state = State::kEjected;
  state.consecutive_failures = 0;
  state.ejection_level = std::min(state.ejection_level + 1, kMaxEjectionLevel);
  state.ejected_until = now + BackoffFor(state.ejection_level);
  ++state.ejections;
  if (!all_ejected_since_.has_value() && AllEjectedLocked()) all_ejected_since_ = now;
}

void LoadBalancer::Readmit(size_t i) {
  EndpointState& state = states_[i];
  state.state = State::kHealthy;
  state.consecutive_failures = 0;
  all_ejected_since_.reset();
}

Clock::Duration LoadBalancer::BackoffFor(int ejection_level) const {
  // eject_base * 2^(level - 1), capped at eject_max without overflowing.
  Clock::Duration backoff = options_.eject_base;
  const Clock::Duration cap = options_.eject_max;
  for (int level = 1; level < ejection_level && backoff < cap; ++level) {
    backoff = backoff > cap / 2 ? cap : backoff * 2;
  }
  return std::min(backoff, cap);
}

bool LoadBalancer::AllEjectedLocked() const {
  return std::none_of(states_.begin(), states_.end(),
                      [](const EndpointState& s) { return s.state == State::kHealthy; });
}

Clock::TimePoint LoadBalancer::NextEventTime() const {
  MutexLock lock(&mu_);
  Clock::TimePoint next = Clock::TimePoint::max();
  for (const EndpointState& state : states_) {
    if (state.state == State::kEjected) next = std::min(next, state.ejected_until);
  }
  return next;
}

std::vector<LoadBalancer::EndpointStats> LoadBalancer::Stats() const {
  MutexLock lock(&mu_);
  std::vector<EndpointStats> stats;
  stats.reserve(states_.size());
  for (size_t i = 0; i < states_.size(); ++i) {
    const EndpointState& state = states_[i];
    stats.push_back({endpoints_[i], state.in_flight, state.requests, state.failures,
                     state.ejections, state.state != State::kHealthy});
  }
  return stats;
}

bool LoadBalancer::AllEjected() const {
  MutexLock lock(&mu_);
  return AllEjectedLocked();
}

std::optional<Clock::TimePoint> LoadBalancer::AllEjectedSince() const {
  MutexLock lock(&mu_);
  return all_ejected_since_;
}

}  // namespace dnoscope::client
