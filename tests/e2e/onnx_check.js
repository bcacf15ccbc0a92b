// Runs an ONNX model with onnxruntime-node -- an ONNX runtime independent of
// the OpenCV DNN that dnoscope serves with -- and prints its outputs as JSON,
// so that tests can compare the two runtimes on the same inputs.
//
//   node onnx_check.js --probe          prints the onnxruntime-node version
//   node onnx_check.js CASES.json       runs the cases, prints the results
//
// CASES.json: {"model": "path/model.onnx",
//              "cases": [{"inputs": [{"name": "images", "type": "uint8",
//                                     "dims": [7, 50, 50, 3], "file": "x.bin"}]}]}
// with each input's elements stored raw (little-endian) in its file.
// stdout: {"input_names": [...], "output_names": [...],
//          "cases": [{"outputs": {"<name>": {"type": "float32", "dims": [...],
//                                              "data": [...]}}}]}
// Exit codes: 0 ok, 1 bad input or inference failure, 2 onnxruntime-node
// cannot be loaded (callers skip on it). NODE_PATH may point at the folder
// holding node_modules/onnxruntime-node (scripts/setup.sh installs it into
// build/node-tools/node_modules).
'use strict';

const fs = require('fs');

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  process.stderr.write(`onnxruntime-node is not installed: ${e.message}\n`);
  process.exit(2);
}

const kArrays = {
  uint8: Uint8Array,
  int8: Int8Array,
  int32: Int32Array,
  int64: BigInt64Array,
  float32: Float32Array,
  float64: Float64Array,
};

function readTensor(input) {
  const TypedArray = kArrays[input.type];
  if (!TypedArray) throw new Error(`input ${input.name}: unsupported type ${input.type}`);
  const bytes = fs.readFileSync(input.file);
  // Copy into a fresh, aligned buffer: typed arrays need element alignment.
  const data = new TypedArray(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const expected = input.dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new Error(`input ${input.name}: ${data.length} elements in ${input.file}, ` +
                    `dims [${input.dims}] need ${expected}`);
  }
  return new ort.Tensor(input.type, data, input.dims);
}

async function main() {
  if (process.argv[2] === '--probe') {
    const version = require('onnxruntime-node/package.json').version;
    process.stdout.write(`onnxruntime-node ${version}\n`);
    return;
  }
  if (process.argv.length !== 3) throw new Error('usage: node onnx_check.js CASES.json | --probe');
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(spec.model, {executionProviders: ['cpu']});
  const result = {input_names: session.inputNames, output_names: session.outputNames, cases: []};
  for (const c of spec.cases) {
    const feeds = {};
    for (const input of c.inputs) feeds[input.name] = readTensor(input);
    const outputs = await session.run(feeds);
    const printed = {};
    for (const [name, tensor] of Object.entries(outputs)) {
      printed[name] = {type: tensor.type, dims: tensor.dims, data: Array.from(tensor.data, Number)};
    }
    result.cases.push({outputs: printed});
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stderr.write(`onnx_check: ${e.message}\n`);
  process.exit(1);
});
