// RemoteModel's decisions — balancing, retries and back-off, priorities,
// withdrawal, ejection and probes, patience, shutdown — on a FakeTransport
// (no sockets) and a FakeClock (no real time): each test answers the
// transport's calls and advances the time itself. Real HTTP servers are in
// http_transport_test.cc.
#include "client/remote_model.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/fake_transport.h"

namespace dnoscope::client {
namespace {

using ::std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Result = absl::StatusOr<std::vector<Tensor>>;

constexpr auto kTick = std::chrono::nanoseconds(1);

Tensor Value(float v) { return Tensor::Fp32("x", {1, 2}, std::vector<float>{v, -v}); }

float ValueOf(const std::vector<Tensor>& tensors) { return tensors.at(0).Values<float>()[0]; }

// The outcome of one request: its `done` ran how often, with what.
class Completion {
 public:
  models::ModelStage::Done Callback() {
    return [this](Result r) {
      MutexLock lock(&mu_);
      result_ = std::move(r);
      ++calls_;
      changed_.SignalAll();
    };
  }
  // Blocks until `done` ran (a 30 s real-time guard fails a hang).
  Result Wait() {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    MutexLock lock(&mu_);
    while (calls_ == 0) {
      if (changed_.WaitUntil(&mu_, give_up)) break;
    }
    if (!result_) return absl::DeadlineExceededError("test: the request never completed");
    return *result_;
  }
  bool done() const {
    MutexLock lock(&mu_);
    return calls_ > 0;
  }
  int calls() const {
    MutexLock lock(&mu_);
    return calls_;
  }

 private:
  mutable Mutex mu_;
  CondVar changed_;
  std::optional<Result> result_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
};

RemoteModelOptions Options() {
  RemoteModelOptions o;
  o.model = "m";
  o.attempt_timeout = milliseconds(1000);
  o.max_attempts = 4;
  o.retry_backoff = milliseconds(10);
  o.retry_backoff_max = milliseconds(80);
  o.unavailable_patience = milliseconds(2000);
  o.balancer.policy = BalancePolicy::kRoundRobin;
  o.balancer.eject_after_failures = 100;  // tests that eject say so
  o.balancer.eject_base = milliseconds(500);
  o.balancer.eject_max = milliseconds(8000);
  return o;
}

class RemoteModelTest : public ::testing::Test {
 protected:
  void Start(size_t endpoints, const RemoteModelOptions& options = Options()) {
    auto transport = std::make_unique<testing::FakeTransport>(endpoints);
    fake_ = transport.get();
    auto model = RemoteModel::Create(std::move(transport), options, {}, &clock_);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *std::move(model);
  }

  // Submits a request carrying `v`; its outcome lands in the returned Completion.
  std::shared_ptr<Completion> Submit(float v, models::Priority priority = models::Priority::kNormal,
                                     models::CancelFlag cancelled = nullptr) {
    auto completion = std::make_shared<Completion>();
    models::StageRequest request;
    request.inputs = {Value(v)};
    request.priority = priority;
    request.cancelled = std::move(cancelled);
    // The callback owns the completion too: a request the test stops
    // watching may still complete at teardown.
    model_->InferAsync(std::move(request),
                       [completion, done = completion->Callback()](Result r) { done(std::move(r)); });
    return completion;
  }

  // The value carried by Infer call `id`.
  float SentValue(int64_t id) { return ValueOf(fake_->call(id).inputs); }

  testing::FakeClock clock_;
  testing::FakeTransport* fake_ = nullptr;  // owned by model_
  std::unique_ptr<RemoteModel> model_;
};

TEST_F(RemoteModelTest, SendsTheRequestWithTheAttemptDeadlineAndRequestedOutputs) {
  Start(1);
  auto completion = std::make_shared<Completion>();
  model_->InferAsync({.inputs = {Value(3)}, .outputs = {"b", "a"}}, completion->Callback());
  ASSERT_TRUE(fake_->WaitForCalls(1));
  const testing::FakeTransport::Call call = fake_->call(0);
  EXPECT_EQ(call.model, "m");
  EXPECT_EQ(call.version, -1);
  EXPECT_THAT(call.outputs, ElementsAre("b", "a"));
  EXPECT_EQ(call.deadline, clock_.Now() + milliseconds(1000));
  ASSERT_TRUE(fake_->ReplyEcho(0));
  Result result = completion->Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(ValueOf(*result), 3);
  EXPECT_EQ(model_->in_flight(), 0);
}

TEST_F(RemoteModelTest, RetryableErrorsAreRetriedOnAnotherEndpointAndRequestErrorsAreNot) {
  const struct {
    absl::StatusCode code;
    bool retried;
  } kCases[] = {
      {absl::StatusCode::kUnavailable, true},       {absl::StatusCode::kDeadlineExceeded, true},
      {absl::StatusCode::kResourceExhausted, true}, {absl::StatusCode::kInternal, true},
      {absl::StatusCode::kInvalidArgument, false},  {absl::StatusCode::kNotFound, false},
      {absl::StatusCode::kUnimplemented, false},    {absl::StatusCode::kFailedPrecondition, false},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(absl::StatusCodeToString(c.code));
    Start(2);
    auto completion = Submit(1);
    ASSERT_TRUE(fake_->WaitForCalls(1));
    fake_->Reply(0, absl::Status(c.code, "injected"));
    if (c.retried) {
      EXPECT_FALSE(completion->done());
      clock_.Advance(milliseconds(10));
      ASSERT_TRUE(fake_->WaitForCalls(2));
      EXPECT_NE(fake_->call(1).endpoint, fake_->call(0).endpoint);
      fake_->ReplyEcho(1);
      EXPECT_TRUE(completion->Wait().ok());
      EXPECT_EQ(model_->stats().retries, 1);
    } else {
      const Result result = completion->Wait();
      EXPECT_EQ(result.status().code(), c.code);
      EXPECT_THAT(result.status().message(), HasSubstr("model 'm' on 10.0.0.1:8000: injected"));
      EXPECT_EQ(fake_->call_count(), 1u);
      EXPECT_EQ(model_->stats().retries, 0);
    }
    model_.reset();
  }
}

TEST_F(RemoteModelTest, BackoffDoublesPerAttemptUpToTheCapAndNoRetryComesEarly) {
  RemoteModelOptions o = Options();
  o.max_attempts = 5;
  o.retry_backoff = milliseconds(10);
  o.retry_backoff_max = milliseconds(25);
  Start(2, o);
  auto completion = Submit(1);
  int64_t id = 0;
  for (const milliseconds backoff : {milliseconds(10), milliseconds(20), milliseconds(25),
                                     milliseconds(25)}) {
    SCOPED_TRACE(backoff.count());
    ASSERT_TRUE(fake_->WaitForCalls(id + 1));
    fake_->Reply(id, absl::UnavailableError("down"));
    ASSERT_TRUE(clock_.BlockUntilWaiterFor(clock_.Now() + backoff));
    clock_.Advance(backoff - kTick);
    EXPECT_EQ(fake_->call_count(), static_cast<size_t>(id + 1));
    clock_.Advance(kTick);
    ++id;
  }
  ASSERT_TRUE(fake_->WaitForCalls(5));
  fake_->Reply(4, absl::DeadlineExceededError("slow"));
  const Result result = completion->Wait();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(result.status().message(), HasSubstr("5 attempts failed, last on 10.0.0.1:8000"));
  EXPECT_EQ(model_->stats().retries, 4);
  EXPECT_EQ(model_->failed_requests(), 1);
}

TEST_F(RemoteModelTest, LowPriorityWaitsWhileNormalRequestsWait) {
  RemoteModelOptions o = Options();
  o.balancer.max_in_flight_per_endpoint = 1;
  Start(1, o);
  auto first = Submit(0);
  auto low = Submit(1, models::Priority::kLow);
  auto second = Submit(2);
  auto third = Submit(3);
  std::vector<float> order;
  for (int64_t id = 0; id < 4; ++id) {
    ASSERT_TRUE(fake_->WaitForCalls(id + 1));
    order.push_back(SentValue(id));
    fake_->ReplyEcho(id);
  }
  EXPECT_THAT(order, ElementsAre(0, 2, 3, 1));
  EXPECT_TRUE(low->Wait().ok());
}

TEST_F(RemoteModelTest, LowPriorityRequestIsSentAtOnceWhenNothingWaits) {
  Start(1);
  auto low = Submit(7, models::Priority::kLow);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  fake_->ReplyEcho(0);
  EXPECT_EQ(ValueOf(*low->Wait()), 7);
}

TEST_F(RemoteModelTest, WithdrawnRequestIsCancelledInsteadOfDispatched) {
  RemoteModelOptions o = Options();
  o.balancer.max_in_flight_per_endpoint = 1;
  Start(1, o);
  auto first = Submit(0);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  auto withdrawn = Submit(1, models::Priority::kNormal, flag);
  auto after = Submit(2);
  flag->store(true);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  fake_->ReplyEcho(0);
  EXPECT_EQ(withdrawn->Wait().status().code(), absl::StatusCode::kCancelled);
  ASSERT_TRUE(fake_->WaitForCalls(2));
  EXPECT_EQ(SentValue(1), 2);  // the withdrawn request never went out
  fake_->ReplyEcho(1);
  EXPECT_TRUE(after->Wait().ok());
}

TEST_F(RemoteModelTest, WithdrawnRequestIsNotRetried) {
  Start(2);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  auto completion = Submit(1, models::Priority::kNormal, flag);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  flag->store(true);
  fake_->Reply(0, absl::UnavailableError("down"));
  EXPECT_EQ(completion->Wait().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(model_->stats().retries, 0);
}

TEST_F(RemoteModelTest, WithdrawalDoesNotStopAnAttemptOnTheWire) {
  Start(1);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  auto completion = Submit(5, models::Priority::kNormal, flag);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  flag->store(true);
  fake_->ReplyEcho(0);
  const Result result = completion->Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(ValueOf(*result), 5);
}

TEST_F(RemoteModelTest, TimerSleepsWithoutADeadlineWhenThereIsNothingToDo) {
  Start(2);
  auto completion = Submit(1);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  fake_->ReplyEcho(0);
  ASSERT_TRUE(completion->Wait().ok());
  // No periodic tick: the only thread on the clock waits for no deadline.
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(Clock::TimePoint::max()));
  EXPECT_EQ(clock_.waiters(), 1);
  EXPECT_EQ(clock_.NextDeadline(), Clock::TimePoint::max());
}

TEST_F(RemoteModelTest, EveryEndpointEjectedFailsWaitingRequestsAfterThePatience) {
  RemoteModelOptions o = Options();
  o.balancer.eject_after_failures = 1;
  o.balancer.eject_base = milliseconds(10000);  // no probe before the patience
  o.balancer.eject_max = milliseconds(10000);
  o.max_attempts = 100;
  Start(2, o);
  auto completion = Submit(1);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  fake_->Reply(0, absl::UnavailableError("first down"));
  clock_.Advance(milliseconds(10));
  ASSERT_TRUE(fake_->WaitForCalls(2));
  const Clock::TimePoint all_out = clock_.Now();
  fake_->Reply(1, absl::UnavailableError("second down"));
  // The retry's back-off ends with no endpoint to go to: it waits for the
  // patience, counted from when the last endpoint went out.
  clock_.Advance(milliseconds(20));
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(all_out + milliseconds(2000)));
  clock_.Advance(all_out + milliseconds(2000) - clock_.Now() - kTick);
  EXPECT_FALSE(completion->done());
  clock_.Advance(kTick);
  const Result result = completion->Wait();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr("unavailable for 2000 ms"));
  EXPECT_THAT(result.status().message(), HasSubstr("second down"));
  EXPECT_EQ(fake_->call_count(), 2u);
}

TEST_F(RemoteModelTest, RequestArrivingWhileEveryEndpointIsOutFailsAfterThePatience) {
  RemoteModelOptions o = Options();
  o.balancer.eject_after_failures = 1;
  o.balancer.eject_base = milliseconds(10000);
  o.balancer.eject_max = milliseconds(10000);
  o.max_attempts = 1;
  Start(2, o);
  for (int64_t id = 0; id < 2; ++id) {
    auto failing = Submit(static_cast<float>(id));
    ASSERT_TRUE(fake_->WaitForCalls(id + 1));
    fake_->Reply(id, absl::UnavailableError("down"));
    EXPECT_EQ(failing->Wait().status().code(), absl::StatusCode::kUnavailable);
  }
  const Clock::TimePoint all_out = clock_.Now();
  auto late = Submit(9);
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(all_out + milliseconds(2000)));
  EXPECT_FALSE(late->done());
  clock_.Advance(milliseconds(2000));
  EXPECT_EQ(late->Wait().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(fake_->call_count(), 2u);
}

TEST_F(RemoteModelTest, EjectedEndpointIsProbedWhenItsEjectionEndsAndReadmittedWhenReady) {
  RemoteModelOptions o = Options();
  o.balancer.eject_after_failures = 1;
  Start(2, o);
  auto completion = Submit(1);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  const Clock::TimePoint ejected = clock_.Now();
  fake_->Reply(0, absl::UnavailableError("down"));
  clock_.Advance(milliseconds(10));
  ASSERT_TRUE(fake_->WaitForCalls(2));
  fake_->ReplyEcho(1);
  ASSERT_TRUE(completion->Wait().ok());
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(ejected + milliseconds(500)));
  EXPECT_EQ(fake_->probes(0), 0);
  EXPECT_TRUE(model_->stats().endpoints[0].ejected);
  clock_.AdvanceTo(ejected + milliseconds(500));
  // Probed, readmitted: nothing is left for the timer to wait for.
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(Clock::TimePoint::max()));
  EXPECT_EQ(fake_->probes(0), 1);
  EXPECT_FALSE(model_->stats().endpoints[0].ejected);
  auto a = Submit(2);
  auto b = Submit(3);
  ASSERT_TRUE(fake_->WaitForCalls(4));
  EXPECT_THAT((std::vector<size_t>{fake_->call(2).endpoint, fake_->call(3).endpoint}),
              ::testing::UnorderedElementsAre(0u, 1u));
}

TEST_F(RemoteModelTest, UnreadyEndpointStaysOutAndIsProbedAgainAfterALongerEjection) {
  RemoteModelOptions o = Options();
  o.balancer.eject_after_failures = 1;
  o.max_attempts = 1;
  Start(2, o);
  fake_->SetReady(0, false);
  auto completion = Submit(1);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  const Clock::TimePoint ejected = clock_.Now();
  fake_->Reply(0, absl::UnavailableError("down"));
  ASSERT_FALSE(completion->Wait().ok());
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(ejected + milliseconds(500)));
  clock_.Advance(milliseconds(500));
  // The failed probe doubles the ejection: the next probe is 1 s later.
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(ejected + milliseconds(1500)));
  EXPECT_EQ(fake_->probes(0), 1);
  EXPECT_TRUE(model_->stats().endpoints[0].ejected);
  EXPECT_EQ(model_->stats().endpoints[0].ejections, 2);
  clock_.Advance(milliseconds(1000) - kTick);
  EXPECT_EQ(fake_->probes(0), 1);
  clock_.Advance(kTick);
  ASSERT_TRUE(clock_.BlockUntilWaiterFor(ejected + milliseconds(3500)));
  EXPECT_EQ(fake_->probes(0), 2);
}

TEST_F(RemoteModelTest, ShutdownCancelsWaitingDelayedAndInFlightRequestsOnce) {
  RemoteModelOptions o = Options();
  o.balancer.max_in_flight_per_endpoint = 1;
  Start(2, o);
  auto delayed = Submit(0);   // fails once, then waits out its back-off
  auto on_wire = Submit(1);   // stays on endpoint 1
  auto moved_up = Submit(2);  // takes endpoint 0 when the first fails
  auto waiting = Submit(3);   // no room anywhere
  ASSERT_TRUE(fake_->WaitForCalls(2));
  fake_->Reply(0, absl::UnavailableError("down"));
  ASSERT_TRUE(fake_->WaitForCalls(3));
  EXPECT_EQ(SentValue(2), 2);
  model_->Shutdown();
  for (const auto& c : {delayed, on_wire, moved_up, waiting}) {
    EXPECT_EQ(c->calls(), 1);
    EXPECT_EQ(c->Wait().status().code(), absl::StatusCode::kCancelled) << c->Wait().status();
  }
  model_->Shutdown();  // idempotent
  auto after = Submit(4);
  EXPECT_EQ(after->calls(), 1);  // inline
  EXPECT_EQ(after->Wait().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(model_->in_flight(), 0);
}

TEST_F(RemoteModelTest, StatsCountRequestsFailuresRetriesAndBytesPerEndpoint) {
  Start(2);
  auto completion = Submit(1);
  ASSERT_TRUE(fake_->WaitForCalls(1));
  fake_->Reply(0, absl::InternalError("broken reply"));
  clock_.Advance(milliseconds(10));
  ASSERT_TRUE(fake_->WaitForCalls(2));
  fake_->ReplyEcho(1);
  ASSERT_TRUE(completion->Wait().ok());
  const models::StageStats stats = model_->stats();
  ASSERT_EQ(stats.endpoints.size(), 2u);
  EXPECT_EQ(stats.endpoints[0].name, "10.0.0.1:8000");
  EXPECT_EQ(stats.endpoints[1].name, "10.0.0.2:8000");
  for (const models::StageEndpointStats& e : stats.endpoints) {
    EXPECT_EQ(e.requests, 1);
    EXPECT_EQ(e.bytes_sent, 8);  // two FP32 values
    EXPECT_EQ(e.in_flight, 0);
  }
  EXPECT_EQ(stats.endpoints[0].failures, 1);
  EXPECT_EQ(stats.endpoints[1].failures, 0);
  EXPECT_EQ(stats.retries, 1);
  EXPECT_EQ(model_->failed_requests(), 0);
}

TEST_F(RemoteModelTest, DescribeNamesModelEndpointsTransportAndPolicy) {
  Start(2);
  EXPECT_EQ(model_->Describe(), "remote 'm' at 10.0.0.1:8000,10.0.0.2:8000 (fake, round-robin)");
}

TEST_F(RemoteModelTest, InputsTheTransportCannotEncodeFailInline) {
  Start(1);
  fake_->SetPrepareError(absl::InvalidArgumentError("cannot encode"));
  auto completion = Submit(1);
  EXPECT_EQ(completion->calls(), 1);
  EXPECT_EQ(completion->Wait().status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fake_->call_count(), 0u);
}

TEST(RemoteModelConnectTest, TakesTheMetadataOfTheFirstEndpointThatAnswers) {
  testing::FakeClock clock;
  auto transport = std::make_unique<testing::FakeTransport>(3);
  models::ModelMetadata served;
  served.name = "m";
  served.inputs = {{"x", DataType::kFp32, {-1, 2}}};
  served.class_names = {"person"};
  transport->SetMetadata(0, absl::UnavailableError("refused"));
  transport->SetMetadata(1, served);
  testing::FakeTransport* fake = transport.get();
  auto model = RemoteModel::Connect(std::move(transport), Options(), &clock);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->metadata().inputs[0].name, "x");
  EXPECT_THAT((*model)->metadata().class_names, ElementsAre("person"));
  EXPECT_EQ(fake->metadata_fetches(), 2);
}

TEST(RemoteModelConnectTest, RequestErrorOfAnEndpointIsReturnedAtOnce) {
  testing::FakeClock clock;
  auto transport = std::make_unique<testing::FakeTransport>(2);
  transport->SetMetadata(0, absl::NotFoundError("no model 'm'"));
  transport->SetMetadata(1, models::ModelMetadata{});  // would answer, is never asked
  auto model = RemoteModel::Connect(std::move(transport), Options(), &clock);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), HasSubstr("model 'm' on 10.0.0.1:8000: no model 'm'"));
}

TEST(RemoteModelConnectTest, NoEndpointAnsweringIsUnavailableNamingEach) {
  testing::FakeClock clock;
  auto transport = std::make_unique<testing::FakeTransport>(2);
  transport->SetMetadata(0, absl::UnavailableError("refused"));
  transport->SetMetadata(1, absl::DeadlineExceededError("timed out"));
  auto model = RemoteModel::Connect(std::move(transport), Options(), &clock);
  EXPECT_EQ(model.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(model.status().message(), HasSubstr("10.0.0.1:8000: refused"));
  EXPECT_THAT(model.status().message(), HasSubstr("10.0.0.2:8000: timed out"));
}

TEST(RemoteModelConnectTest, ClassNamesOptionReplacesTheServersNames) {
  testing::FakeClock clock;
  auto transport = std::make_unique<testing::FakeTransport>(1);
  models::ModelMetadata served;
  served.class_names = {"car"};
  transport->SetMetadata(0, served);
  RemoteModelOptions o = Options();
  o.class_names = {"person", "bicycle"};
  auto model = RemoteModel::Connect(std::move(transport), o, &clock);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_THAT((*model)->metadata().class_names, ElementsAre("person", "bicycle"));
}

TEST(RemoteModelCreateTest, RejectsBadArguments) {
  testing::FakeClock clock;
  auto with = [](auto change) {
    RemoteModelOptions o = Options();
    change(o);
    return o;
  };
  const struct {
    std::string name;
    RemoteModelOptions options;
  } kCases[] = {
      {"no model", with([](auto& o) { o.model.clear(); })},
      {"max_attempts 0", with([](auto& o) { o.max_attempts = 0; })},
      {"attempt_timeout 0", with([](auto& o) { o.attempt_timeout = milliseconds(0); })},
      {"negative backoff", with([](auto& o) { o.retry_backoff = milliseconds(-1); })},
      {"backoff above max", with([](auto& o) { o.retry_backoff = milliseconds(100); })},
      {"negative patience", with([](auto& o) { o.unavailable_patience = milliseconds(-1); })},
      {"bad balancer", with([](auto& o) { o.balancer.max_in_flight_per_endpoint = 0; })},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    auto model = RemoteModel::Create(std::make_unique<testing::FakeTransport>(1), c.options, {},
                                     &clock);
    EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(RemoteModel::Create(nullptr, Options(), {}, &clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RemoteModel::Create(std::make_unique<testing::FakeTransport>(1), Options(), {},
                                nullptr)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dnoscope::client
