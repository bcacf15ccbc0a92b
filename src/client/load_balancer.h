// LoadBalancer: chooses which replica of a model server gets the next request
// and tracks each endpoint's health from the outcomes the caller reports.
//
// Pure bookkeeping: no I/O and no threads of its own. The caller picks an
// endpoint (Pick), sends the request, and reports the outcome (Release). An
// endpoint that fails `eject_after_failures` requests in a row is ejected for
// a backoff period (eject_base, doubling per re-ejection up to eject_max).
// When the period is over the endpoint is handed out once by DueForProbe; the
// caller probes it (RemoteModel: Transport::Probe) and reports with ProbeResult, which
// either readmits it or ejects it again with a doubled backoff.
//
// Endpoint states: healthy (takes traffic) -> ejected (waiting out its
// backoff) -> probing (returned by DueForProbe, waiting for ProbeResult) ->
// healthy or ejected again.
//
// Thread-safety: all methods are thread-safe (one internal mutex). Clock calls
// are made outside the mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "client/endpoint.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace dnoscope::client {

enum class BalancePolicy {
  // Uniformly at random among the eligible endpoints.
  kRandom,
  // The next eligible endpoint after the previous pick, in list order.
  kRoundRobin,
  // Power of two choices: two distinct eligible endpoints at random, the one
  // with fewer requests in flight wins (then fewer total requests).
  kPowerOfTwo,
};

// Parses "random", "round-robin" or "p2c". Returns InvalidArgument, listing
// the valid names, for anything else.
absl::StatusOr<BalancePolicy> ParseBalancePolicy(std::string_view name);

// The name ParseBalancePolicy accepts for `policy`.
std::string_view BalancePolicyName(BalancePolicy policy);

struct LoadBalancerOptions {
  // How Pick chooses among the eligible endpoints.
  BalancePolicy policy = BalancePolicy::kPowerOfTwo;
  // An endpoint with this many requests in flight is not picked (>= 1).
  int max_in_flight_per_endpoint = 8;
  // Consecutive failed requests that eject an endpoint (>= 1).
  int eject_after_failures = 3;
  // Length of the first ejection (> 0); each re-ejection without a successful
  // request in between doubles it.
  std::chrono::milliseconds eject_base{500};
  // Cap on the ejection length (>= eject_base).
  std::chrono::milliseconds eject_max{10000};
  // Seed of the random choices of kRandom and kPowerOfTwo; a fixed seed and
  // call sequence give the same picks.
  uint64_t seed = 1;
};

class LoadBalancer {
 public:
  struct EndpointStats {
    Endpoint endpoint;
    // Picked and not yet released.
    int in_flight = 0;
    // Total picks.
    int64_t requests = 0;
    // Total releases with success == false.
    int64_t failures = 0;
    // Times the endpoint was ejected (including re-ejections after a probe).
    int64_t ejections = 0;
    // Ejected or probing, i.e. not taking traffic.
    bool ejected = false;
  };

  // Balances over `endpoints`; indices into this list identify endpoints in
  // every other method. `clock` is not owned and must outlive the balancer.
  // Returns InvalidArgument for an empty list, a duplicate or invalid
  // endpoint, out-of-range options or a null clock.
  static absl::StatusOr<std::unique_ptr<LoadBalancer>> Create(std::vector<Endpoint> endpoints,
                                                              const LoadBalancerOptions& options,
                                                              Clock* clock);

  LoadBalancer(const LoadBalancer&) = delete;
  LoadBalancer& operator=(const LoadBalancer&) = delete;

  // Picks an endpoint for a new request and counts it in flight; every
  // successful Pick must be matched by exactly one Release. Endpoints in
  // `exclude` (e.g. those already tried for this request) are never picked;
  // out-of-range entries are ignored. Returns nullopt when every
  // non-excluded endpoint is ejected, probing or at its in-flight limit.
  std::optional<size_t> Pick(std::span<const size_t> exclude = {});

  // Completes a request picked earlier on `endpoint`. Success resets the
  // endpoint's consecutive-failure count; on a healthy or probing endpoint it
  // also resets the ejection backoff, and a probing endpoint is readmitted
  // (a late success on an ejected endpoint does not end the ejection).
  // Failure counts toward ejection of a healthy endpoint. Ignored for an
  // out-of-range index or an endpoint with nothing in flight.
  void Release(size_t endpoint, bool success);

  // Marks every ejected endpoint whose ejection is over as probing and
  // returns them; each ejection period yields an endpoint once. The caller
  // must probe each and report with ProbeResult; a probing endpoint takes no
  // traffic until then.
  std::vector<size_t> DueForProbe();

  // Reports the health probe of a probing endpoint. Healthy readmits it with
  // its failure count reset (the ejection backoff is reset only by a later
  // successful request, so a flapping endpoint keeps backing off). Unhealthy
  // ejects it again with a doubled backoff. Ignored unless the endpoint is
  // probing (e.g. a late success already readmitted it).
  void ProbeResult(size_t endpoint, bool healthy);

  // The earliest time at which an ejection ends on its own, for the caller's
  // timers; TimePoint::max() when no endpoint is waiting out an ejection.
  Clock::TimePoint NextEventTime() const;

  // A snapshot of every endpoint, in Create order.
  std::vector<EndpointStats> Stats() const;

  // Number of endpoints.
  size_t size() const { return endpoints_.size(); }

  // True when every endpoint is ejected or probing, so no request can be
  // placed even after in-flight ones complete.
  bool AllEjected() const;

  // Since when every endpoint has been ejected or probing without a break;
  // nullopt when some endpoint is healthy. Callers fail a run when this is
  // older than their patience.
  std::optional<Clock::TimePoint> AllEjectedSince() const;

 private:
  enum class State { kHealthy, kEjected, kProbing };

  struct EndpointState {
    State state = State::kHealthy;
    int in_flight = 0;
    int consecutive_failures = 0;
    // Ejections since the last successful request; sets the backoff length.
    int ejection_level = 0;
    Clock::TimePoint ejected_until;
    int64_t requests = 0;
    int64_t failures = 0;
    int64_t ejections = 0;
  };

  LoadBalancer(std::vector<Endpoint> endpoints, const LoadBalancerOptions& options, Clock* clock);

  bool IsEligible(size_t i, std::span<const size_t> exclude) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<size_t> Choose(const std::vector<size_t>& eligible)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t ChoosePowerOfTwo(const std::vector<size_t>& eligible) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Uniform in [0, n), n > 0.
  size_t UniformBelow(size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Eject(size_t i, Clock::TimePoint now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Readmit(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Clock::Duration BackoffFor(int ejection_level) const;  // reads only options_
  bool AllEjectedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::vector<Endpoint> endpoints_;
  const LoadBalancerOptions options_;
  Clock* const clock_;

  mutable Mutex mu_;
  std::vector<EndpointState> states_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_);
  // Index of the previous round-robin pick.
  size_t last_pick_ ABSL_GUARDED_BY(mu_);
  std::optional<Clock::TimePoint> all_ejected_since_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dnoscope::client
