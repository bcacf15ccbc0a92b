// The KServe v2 gRPC codec: tensors of ModelInferRequest / ModelInferResponse
// (inference.proto) <-> native Tensors, and absl::Status <-> grpc::Status.
// The gRPC server (serving/grpc) and the gRPC client transport (client) both
// use it, so that both sides agree on one reading of the wire.
//
// Tensors are written as raw_input_contents / raw_output_contents (one entry
// per tensor, little-endian elements; BYTES elements as a 4-byte length and
// their bytes), the fast path of the protocol. Reading also accepts typed
// InferTensorContents for every datatype dnoscope has (UINT8 in
// uint_contents, INT32 in int_contents, INT64 in int64_contents, FP32 in
// fp32_contents, BYTES in bytes_contents).
//
// Thread-safety: stateless free functions.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/tensor.h"
#include "grpcpp/support/status.h"
#include "protocol/grpc/inference.pb.h"

namespace dnoscope::protocol {

// The input tensors of `request`. InvalidArgument, naming the tensor, for an
// unknown datatype, a negative or overflowing shape, duplicate names,
// raw_input_contents whose count differs from the inputs' (when any is
// given), an input with both raw and typed contents, a raw entry whose size
// does not fit shape and datatype, typed contents of the wrong field or
// element count, or an element out of range for the datatype.
absl::StatusOr<std::vector<Tensor>> DecodeInferInputs(const inference::ModelInferRequest& request);

// The output tensors of `response`; errors as DecodeInferInputs, for
// outputs and raw_output_contents.
absl::StatusOr<std::vector<Tensor>> DecodeInferOutputs(
    const inference::ModelInferResponse& response);

// Appends `inputs` to `request` as inputs with raw_input_contents.
// InvalidArgument when a tensor is not valid (Tensor::Validate()).
absl::Status EncodeInferInputs(const std::vector<Tensor>& inputs,
                               inference::ModelInferRequest* request);

// Appends `outputs` to `response` as outputs with raw_output_contents.
// InvalidArgument when a tensor is not valid.
absl::Status EncodeInferOutputs(const std::vector<Tensor>& outputs,
                                inference::ModelInferResponse* response);

// The gRPC status for a service error, as Triton maps its errors: the
// canonical code carries over unchanged (NotFound -> NOT_FOUND,
// InvalidArgument -> INVALID_ARGUMENT, Unavailable -> UNAVAILABLE,
// DeadlineExceeded -> DEADLINE_EXCEEDED, Unimplemented -> UNIMPLEMENTED,
// ResourceExhausted -> RESOURCE_EXHAUSTED, Internal -> INTERNAL ...) with the
// message.
grpc::Status ToGrpcStatus(const absl::Status& status);
// The inverse of ToGrpcStatus (a client reading a server's answer).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace dnoscope::protocol
