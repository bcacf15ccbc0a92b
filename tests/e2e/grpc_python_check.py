#!/usr/bin/env python3
"""Independent KServe v2 gRPC client check of `dnoscope serve --grpc-port`.

Generates Python stubs from the project's inference.proto with grpc_tools
(python3-grpc-tools) into a temporary directory, then calls every RPC of
inference.GRPCInferenceService against a running server whose repository has
"echo" (identity FP32, max_batch_size 8) and "blob" (identity BYTES):
health, metadata, config, inference with raw binary and typed tensors,
a gzip-compressed request, errors (unknown model, bad raw size, bad
datatype), statistics and the repository extension.

Usage: grpc_python_check.py --proto DIR/inference.proto --port N
Exit status: 0 when every check passed, 1 otherwise, 77 when the grpc
modules are missing (the ctest wrapper skips then).
"""
import argparse
import array
import importlib
import os
import struct
import sys
import tempfile

try:
    import grpc
    from grpc_tools import protoc
except ImportError as e:
    print(f"SKIP: python grpc modules missing ({e}); install python3-grpcio python3-grpc-tools")
    sys.exit(77)

FAILURES = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        FAILURES.append(what)


def expect_code(call, code, what):
    try:
        call()
    except grpc.RpcError as e:
        check(e.code() == code, f"{what}: {e.code()} (want {code}): {e.details()}")
        return
    check(False, f"{what}: succeeded, want {code}")


def load_stubs(proto):
    out = tempfile.mkdtemp(prefix="dnoscope_grpc_py_")
    rc = protoc.main(["protoc", f"-I{os.path.dirname(proto)}", f"--python_out={out}",
                      f"--grpc_python_out={out}", proto])
    if rc != 0:
        print(f"FAIL protoc exited {rc} for {proto}")
        sys.exit(1)
    sys.path.insert(0, out)
    name = os.path.splitext(os.path.basename(proto))[0]
    return importlib.import_module(f"{name}_pb2"), importlib.import_module(f"{name}_pb2_grpc")


def fp32_request(pb, model, values, shape):
    request = pb.ModelInferRequest(model_name=model, id="py-1")
    request.inputs.add(name="INPUT0", datatype="FP32", shape=shape)
    request.raw_input_contents.append(array.array("f", values).tobytes())
    return request


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proto", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    pb, rpc = load_stubs(args.proto)
    channel = grpc.insecure_channel(f"127.0.0.1:{args.port}")
    grpc.channel_ready_future(channel).result(timeout=30)
    stub = rpc.GRPCInferenceServiceStub(channel)
    timeout = 30

    check(stub.ServerLive(pb.ServerLiveRequest(), timeout=timeout).live, "ServerLive is live")
    check(stub.ServerReady(pb.ServerReadyRequest(), timeout=timeout).ready, "ServerReady is ready")
    meta = stub.ServerMetadata(pb.ServerMetadataRequest(), timeout=timeout)
    check(meta.name == "dnoscope" and len(meta.extensions) > 0,
          f"ServerMetadata names the server ({meta.name}, {list(meta.extensions)})")
    check(stub.ModelReady(pb.ModelReadyRequest(name="echo"), timeout=timeout).ready,
          "ModelReady(echo)")
    expect_code(lambda: stub.ModelReady(pb.ModelReadyRequest(name="nope"), timeout=timeout),
                grpc.StatusCode.NOT_FOUND, "ModelReady of an unknown model")

    model = stub.ModelMetadata(pb.ModelMetadataRequest(name="echo"), timeout=timeout)
    check(model.name == "echo" and list(model.versions) == ["1"], "ModelMetadata name, versions")
    check([(t.name, t.datatype) for t in model.inputs] == [("INPUT0", "FP32")],
          "ModelMetadata inputs")
    check([t.name for t in model.outputs] == ["OUTPUT0"], "ModelMetadata outputs")
    expect_code(lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"), timeout=timeout),
                grpc.StatusCode.NOT_FOUND, "ModelMetadata of an unknown model")

    config = stub.ModelConfig(pb.ModelConfigRequest(name="echo"), timeout=timeout).config
    check(config.name == "echo" and config.max_batch_size == 8 and config.backend == "identity",
          f"ModelConfig (max_batch_size {config.max_batch_size}, backend {config.backend})")
    check(len(config.input) == 1 and config.input[0].data_type == pb.TYPE_FP32,
          "ModelConfig input TYPE_FP32")

    # Raw binary tensors both ways.
    values = [1.0, -2.5, 3.25, 1e6]
    reply = stub.ModelInfer(fp32_request(pb, "echo", values, [1, 4]), timeout=timeout)
    check(reply.model_name == "echo" and reply.model_version == "1" and reply.id == "py-1",
          "ModelInfer names model, version and id")
    out = reply.outputs[0]
    got = list(array.array("f", reply.raw_output_contents[0]))
    check(out.name == "OUTPUT0" and out.datatype == "FP32" and list(out.shape) == [1, 4]
          and got == values, f"ModelInfer raw FP32 echo {got}")

    # Typed contents in, raw out.
    typed = pb.ModelInferRequest(model_name="echo")
    tensor = typed.inputs.add(name="INPUT0", datatype="FP32", shape=[2, 1])
    tensor.contents.fp32_contents.extend([7.0, 8.0])
    reply = stub.ModelInfer(typed, timeout=timeout)
    check(list(array.array("f", reply.raw_output_contents[0])) == [7.0, 8.0],
          "ModelInfer typed fp32_contents")

    # BYTES: each element a 4-byte little-endian length and its bytes.
    elements = [b"hello", b"\x00\xff"]
    raw = b"".join(struct.pack("<I", len(e)) + e for e in elements)
    blob = pb.ModelInferRequest(model_name="blob")
    blob.inputs.add(name="INPUT0", datatype="BYTES", shape=[1, 2])
    blob.raw_input_contents.append(raw)
    reply = stub.ModelInfer(blob, timeout=timeout)
    check(reply.raw_output_contents[0] == raw and reply.outputs[0].datatype == "BYTES",
          "ModelInfer raw BYTES echo")

    # gzip-compressed request.
    big = [float(i) for i in range(4096)]
    reply = stub.ModelInfer(fp32_request(pb, "echo", big, [1, 4096]), timeout=timeout,
                            compression=grpc.Compression.Gzip)
    check(list(array.array("f", reply.raw_output_contents[0])) == big, "ModelInfer gzip request")

    # Errors.
    expect_code(lambda: stub.ModelInfer(fp32_request(pb, "nope", [1.0], [1, 1]), timeout=timeout),
                grpc.StatusCode.NOT_FOUND, "ModelInfer of an unknown model")
    short = fp32_request(pb, "echo", [1.0, 2.0], [1, 3])
    expect_code(lambda: stub.ModelInfer(short, timeout=timeout),
                grpc.StatusCode.INVALID_ARGUMENT, "ModelInfer raw size mismatch")
    wrong = fp32_request(pb, "echo", [1.0], [1, 1])
    wrong.inputs[0].datatype = "FP99"
    expect_code(lambda: stub.ModelInfer(wrong, timeout=timeout),
                grpc.StatusCode.INVALID_ARGUMENT, "ModelInfer unknown datatype")

    stats = stub.ModelStatistics(pb.ModelStatisticsRequest(name="echo"), timeout=timeout)
    s = stats.model_stats[0] if stats.model_stats else None
    check(s is not None and s.name == "echo" and s.inference_stats.success.count == 3
          and s.inference_stats.fail.count == 2,
          "ModelStatistics: 3 successes, 2 failures"
          + (f" (got {s.inference_stats.success.count}, {s.inference_stats.fail.count})" if s else ""))
    expect_code(lambda: stub.ModelStatistics(pb.ModelStatisticsRequest(name="nope"), timeout=timeout),
                grpc.StatusCode.NOT_FOUND, "ModelStatistics of an unknown model")

    index = stub.RepositoryIndex(pb.RepositoryIndexRequest(), timeout=timeout)
    names = sorted((m.name, m.state) for m in index.models)
    check(("blob", "READY") in names and ("echo", "READY") in names, f"RepositoryIndex {names}")
    for what, call in (
            ("RepositoryModelLoad",
             lambda: stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="echo"),
                                              timeout=timeout)),
            ("RepositoryModelUnload",
             lambda: stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name="nope"),
                                                timeout=timeout))):
        try:
            call()
            check(what == "RepositoryModelLoad", f"{what} answered OK")
        except grpc.RpcError as e:
            # Unload of an unknown model is NOT_FOUND; a server whose repository does not
            # reload yet answers UNIMPLEMENTED with a message saying so.
            check(e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED),
                  f"{what}: {e.code()}: {e.details()}")

    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
