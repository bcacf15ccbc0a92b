// ThreadSanitizer defaults for test binaries that run gRPC (linked into them
// only). Debian's gRPC, protobuf and absl libraries are not instrumented, so
// TSan cannot see how gRPC hands a message from one of its threads to another
// and would flag every hand-off (allocations and copies made inside those
// libraries). ignore_noninstrumented_modules drops the accesses those
// libraries make; the grpcpp wrapper code inlined into our binaries is
// covered by tests/tsan.supp. Our own code stays checked. TSAN_OPTIONS from
// the environment still applies on top of these defaults.
extern "C" const char* __tsan_default_options() { return "ignore_noninstrumented_modules=1"; }
