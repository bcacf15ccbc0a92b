#include "train/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <initializer_list>
#include <limits>

#include "common/status_macros.h"
#include "fmt/format.h"
#include "opencv2/dnn.hpp"

namespace dnoscope::train {
namespace {

constexpr int kOpset = 13;
constexpr int kIrVersion = 7;
// BatchNormalization divides by sqrt(var + epsilon); var is std^2 >= 1e-6,
// so a tiny epsilon keeps the graph equal to the training normalisation.
constexpr float kBatchNormEpsilon = 1e-12f;

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  void Initializer(const std::string& name, std::initializer_list<int64_t> dims,
                   const std::vector<float>& values) {
    onnx::TensorProto* t = graph_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->mutable_float_data()->Add(values.begin(), values.end());
  }

  onnx::NodeProto* Node(const std::string& op, std::initializer_list<std::string> inputs,
                        const std::string& output) {
    onnx::NodeProto* node = graph_->add_node();
    node->set_op_type(op);
    node->set_name(output);
    for (const std::string& in : inputs) node->add_input(in);
    node->add_output(output);
    return node;
  }

  // Tensor value info with dims; a negative dim is the symbolic batch "N".
  static void ValueInfo(onnx::ValueInfoProto* info, const std::string& name, int elem_type,
                        std::initializer_list<int64_t> dims) {
    info->set_name(name);
    onnx::TypeProto_Tensor* tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(elem_type);
    for (int64_t d : dims) {
      onnx::TensorShapeProto_Dimension* dim = tensor->mutable_shape()->add_dim();
      if (d < 0) {
        dim->set_dim_param("N");
      } else {
        dim->set_dim_value(d);
      }
    }
  }

 private:
  onnx::GraphProto* graph_;
};

void IntAttr(onnx::NodeProto* node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void IntsAttr(onnx::NodeProto* node, const std::string& name,
              std::initializer_list<int64_t> values) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void FloatAttr(onnx::NodeProto* node, const std::string& name, float value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

// Cast -> scale -> NCHW -> per-channel normalisation; returns the output name.
std::string AddPreprocessing(GraphBuilder& g, const Normalization& norm) {
  IntAttr(g.Node("Cast", {kOnnxInputName}, "pixels_float"), "to", onnx::TensorProto::FLOAT);
  g.Initializer("scale_1_255", {1}, {1.0f / 255.0f});
  g.Node("Mul", {"pixels_float", "scale_1_255"}, "pixels_unit");
  IntsAttr(g.Node("Transpose", {"pixels_unit"}, "pixels_nchw"), "perm", {0, 3, 1, 2});
  std::vector<float> var(3);
  for (int c = 0; c < 3; ++c) var[c] = norm.std[c] * norm.std[c];
  g.Initializer("norm_scale", {3}, {1, 1, 1});
  g.Initializer("norm_bias", {3}, {0, 0, 0});
  g.Initializer("norm_mean", {3}, std::vector<float>(norm.mean.begin(), norm.mean.end()));
  g.Initializer("norm_var", {3}, var);
  onnx::NodeProto* bn =
      g.Node("BatchNormalization",
             {"pixels_nchw", "norm_scale", "norm_bias", "norm_mean", "norm_var"}, "normalized");
  FloatAttr(bn, "epsilon", kBatchNormEpsilon);
  return "normalized";
}

std::string AddConvBlocks(GraphBuilder& g, const TrainedModel& m, std::string x) {
  for (size_t i = 0; i < m.conv.size(); ++i) {
    const ConvWeights& c = m.conv[i];
    const std::string w = fmt::format("conv{}_weight", i), b = fmt::format("conv{}_bias", i);
    g.Initializer(w, {c.out_channels, c.in_channels, 3, 3}, c.weight);
    g.Initializer(b, {c.out_channels}, c.bias);
    onnx::NodeProto* conv = g.Node("Conv", {x, w, b}, fmt::format("conv{}", i));
    IntsAttr(conv, "kernel_shape", {3, 3});
    IntsAttr(conv, "pads", {1, 1, 1, 1});
    IntsAttr(conv, "strides", {1, 1});
    g.Node("Relu", {fmt::format("conv{}", i)}, fmt::format("conv{}_relu", i));
    onnx::NodeProto* pool =
        g.Node("MaxPool", {fmt::format("conv{}_relu", i)}, fmt::format("pool{}", i));
    IntsAttr(pool, "kernel_shape", {2, 2});
    IntsAttr(pool, "strides", {2, 2});
    x = fmt::format("pool{}", i);
  }
  return x;
}

// Gemm with B = weight [out, in] (transB = 1) and C = bias.
std::string AddDense(GraphBuilder& g, const DenseWeights& d, const std::string& name,
                     const std::string& x) {
  g.Initializer(name + "_weight", {d.out_features, d.in_features}, d.weight);
  g.Initializer(name + "_bias", {d.out_features}, d.bias);
  IntAttr(g.Node("Gemm", {x, name + "_weight", name + "_bias"}, name), "transB", 1);
  return name;
}

onnx::ModelProto BuildModel(const TrainedModel& m) {
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("dnoscope");
  model.set_doc_string(fmt::format("dnoscope specialized classifier {} on {}x{} BGR input",
                                   m.architecture.Name(), m.width, m.height));
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("specialized_classifier");
  GraphBuilder::ValueInfo(graph->add_input(), kOnnxInputName, onnx::TensorProto::UINT8,
                          {-1, m.height, m.width, 3});
  GraphBuilder g(graph);
  std::string x = AddConvBlocks(g, m, AddPreprocessing(g, m.normalization));
  IntAttr(g.Node("Flatten", {x}, "flat"), "axis", 1);
  x = AddDense(g, m.dense, "dense", "flat");
  g.Node("Relu", {x}, "dense_relu");
  x = AddDense(g, m.output, "logit", "dense_relu");
  g.Node("Sigmoid", {x}, kOnnxOutputName);
  GraphBuilder::ValueInfo(graph->add_output(), kOnnxOutputName, onnx::TensorProto::FLOAT, {-1, 1});
  return model;
}

absl::StatusOr<cv::dnn::Net> ReadOnnx(const std::string& bytes) {
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    if (net.empty()) return absl::InvalidArgumentError("OpenCV DNN imported an empty network");
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return net;
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        fmt::format("OpenCV DNN could not import the ONNX graph: {}", e.what()));
  }
}

absl::Status CheckImages(const uint8_t* images, int64_t count, int width, int height) {
  if (count < 1 || count > std::numeric_limits<int>::max() || images == nullptr || width < 1 ||
      height < 1) {
    return absl::InvalidArgumentError(
        fmt::format("OpenCV DNN needs 1 or more images of a positive size, got {} of {}x{}", count,
                    width, height));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> Forward(cv::dnn::Net& net, const uint8_t* images, int64_t count,
                                           int width, int height) {
  const int sizes[] = {static_cast<int>(count), height, width, 3};
  const cv::Mat blob(4, sizes, CV_8U, const_cast<uint8_t*>(images));
  cv::Mat out;
  try {
    net.setInput(blob);
    out = net.forward();
  } catch (const cv::Exception& e) {
    return absl::InternalError(fmt::format("OpenCV DNN inference failed: {}", e.what()));
  }
  if (out.type() != CV_32F || static_cast<int64_t>(out.total()) != count || !out.isContinuous()) {
    return absl::InvalidArgumentError(fmt::format(
        "OpenCV DNN returned {} values of type {} for {} images", out.total(), out.type(), count));
  }
  return std::vector<float>(out.ptr<float>(), out.ptr<float>() + count);
}

}  // namespace

absl::StatusOr<std::string> ExportOnnx(const TrainedModel& model) {
  DNS_RETURN_IF_ERROR(ValidateTrainedModel(model));
  const onnx::ModelProto proto = BuildModel(model);
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("exported ONNX graph fails the checker: {}", e.what()));
  }
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) {
    return absl::InternalError("could not serialize the ONNX graph");
  }
  return bytes;
}

absl::StatusOr<std::vector<float>> RunOnnxWithOpenCv(const std::string& onnx_bytes,
                                                     const uint8_t* images, int64_t count,
                                                     int width, int height) {
  DNS_RETURN_IF_ERROR(CheckImages(images, count, width, height));
  DNS_ASSIGN_OR_RETURN(cv::dnn::Net net, ReadOnnx(onnx_bytes));
  return Forward(net, images, count, width, height);
}

absl::StatusOr<double> MeasureOpenCvMsPerFrame(const std::string& onnx_bytes, const uint8_t* images,
                                               int64_t count, int width, int height,
                                               int repetitions, Clock* clock) {
  DNS_RETURN_IF_ERROR(CheckImages(images, count, width, height));
  if (repetitions < 1) return absl::InvalidArgumentError("repetitions must be >= 1");
  DNS_ASSIGN_OR_RETURN(cv::dnn::Net net, ReadOnnx(onnx_bytes));
  DNS_RETURN_IF_ERROR(Forward(net, images, count, width, height).status());
  std::vector<double> ms;
  for (int i = 0; i < repetitions; ++i) {
    const Clock::TimePoint start = clock->Now();
    DNS_RETURN_IF_ERROR(Forward(net, images, count, width, height).status());
    ms.push_back(1000.0 * SecondsBetween(start, clock->Now()) / static_cast<double>(count));
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

}  // namespace dnoscope::train
