// ref.mjs: reference outputs and timings from TensorFlow.js (pure-JS CPU
// backend, no native addon) for vidan's nn runtime to be checked against.
//
// Usage: node ref.mjs --models DIR --out DIR [--bench N] MODEL...
//
// For each MODEL (DIR/MODEL.json + its shards) it builds a fixed input (a
// smooth pattern plus seeded noise, the same every run), runs the model once
// and writes into --out:
//   MODEL.input.bin         the input, float32 little-endian (for an int32
//                           input, whole numbers 0..255: the pattern x 255)
//   MODEL.out<i>.bin        output i, float32 little-endian
//   MODEL.ref.json          {"model", "input": {"name", "shape", "file"},
//                            "outputs": [{"name", "shape", "file"}],
//                            "ms_per_inference"?: bench mean}
// With --bench N it also times N runs after one warm-up.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

function parseArgs(argv) {
  const o = { models: null, out: null, bench: 0, names: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--models') o.models = argv[++i];
    else if (a === '--out') o.out = argv[++i];
    else if (a === '--bench') o.bench = Number(argv[++i]);
    else o.names.push(a);
  }
  if (!o.models || !o.out || o.names.length === 0) {
    console.error('usage: node ref.mjs --models DIR --out DIR [--bench N] MODEL...');
    process.exit(2);
  }
  return o;
}

// Loads a graph model from disk without tfjs-node: read the JSON and the
// shards ourselves and hand them to tf.io.fromMemory.
async function loadModel(dir, name) {
  const json = JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));
  const specs = [];
  const bufs = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths) bufs.push(fs.readFileSync(path.join(dir, p)));
    specs.push(...group.weights);
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const artifacts = {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs: specs,
    weightData,
    signature: json.signature,
    userDefinedMetadata: json.userDefinedMetadata,
  };
  return tf.loadGraphModel(tf.io.fromMemory(artifacts));
}

// Deterministic input in [0, 1]: gradients and rings like an image, plus
// noise from a small LCG so no two pixels are alike.
function makeInput(shape) {
  const [n, h, w, c] = shape;
  const data = new Float32Array(n * h * w * c);
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) / 16777216;
  };
  let i = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const r = Math.hypot(x - w / 2, y - h / 2) / w;
          const v = 0.5 + 0.3 * Math.sin(12 * r + k + b) + 0.15 * (x / w - y / h);
          data[i++] = Math.min(1, Math.max(0, v + 0.1 * (rnd() - 0.5)));
        }
  return data;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  await tf.setBackend('cpu');
  await tf.ready();
  fs.mkdirSync(o.out, { recursive: true });
  for (const name of o.names) {
    const model = await loadModel(o.models, name);
    const info = model.inputs[0];
    const shape = info.shape.map((d) => (d == null || d < 0 ? 1 : d));
    const data = makeInput(shape);
    // int32 inputs (MoveNet) take pixel values; vidan reads them as floats.
    const isInt = info.dtype === 'int32';
    if (isInt) for (let i = 0; i < data.length; i++) data[i] = Math.round(data[i] * 255);
    const input = isInt ? tf.tensor(Int32Array.from(data), shape, 'int32') : tf.tensor(data, shape, 'float32');
    const outNames = model.outputs.map((t) => t.name);
    let outs = model.execute(input, outNames);
    if (!Array.isArray(outs)) outs = [outs];
    const ref = {
      model: name,
      backend: tf.getBackend(),
      tfjs: tf.version.tfjs,
      input: { name: info.name, shape, file: `${name}.input.bin` },
      outputs: [],
    };
    fs.writeFileSync(path.join(o.out, ref.input.file), Buffer.from(data.buffer));
    outs.forEach((t, i) => {
      const file = `${name}.out${i}.bin`;
      const v = t.dataSync();
      fs.writeFileSync(path.join(o.out, file), Buffer.from(new Float32Array(v).buffer));
      ref.outputs.push({ name: outNames[i].replace(/:0$/, ''), shape: t.shape, file });
    });
    tf.dispose(outs);
    if (o.bench > 0) {
      tf.dispose(model.execute(input, outNames)); // warm-up
      const t0 = performance.now();
      for (let k = 0; k < o.bench; k++) {
        const r = model.execute(input, outNames);
        const list = Array.isArray(r) ? r : [r];
        list.forEach((t) => t.dataSync());
        tf.dispose(r);
      }
      ref.ms_per_inference = (performance.now() - t0) / o.bench;
      console.log(`${name}: tfjs ${tf.version.tfjs} cpu ${ref.ms_per_inference.toFixed(2)} ms/inference`);
    }
    fs.writeFileSync(path.join(o.out, `${name}.ref.json`), JSON.stringify(ref, null, 1) + '\n');
    input.dispose();
    model.dispose();
  }
}

main().catch((e) => {
  console.error(`ref.mjs: ${e.stack || e}`);
  process.exit(1);
});
