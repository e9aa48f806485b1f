import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import {
  binGainModel,
  evalOddBreaking,
  identityModel,
  oddBreakingModel,
  type MdxBatchShape,
} from '../../src/fixtures/analyticModels.js';
import {
  convTdfNetModel,
  convTdfNetParamCount,
  type ConvTdfNetShape,
} from '../../src/fixtures/convTdfNet.js';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../../src/fixtures/onnxGraph.js';
import { normalArray, seededRandom, uniformArray } from '../../src/fixtures/seededRandom.js';
import { writeModelWithSidecar } from '../../src/fixtures/writeModel.js';
import { modelParamsSchema } from '../../src/pipeline/models/modelParams.js';

const { onnx } = onnxProto;

function randomInput(seed: number, { batch, dimF, dimT }: MdxBatchShape): Float32Array {
  return normalArray(seededRandom(seed), batch * 4 * dimF * dimT);
}

/** Loads `bytes` in onnxruntime, checks the MDX contract it declares, and runs it once. */
async function runModel(bytes: Uint8Array, input: Float32Array, shape: MdxBatchShape): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  );
  try {
    assert.deepEqual(session.inputNames, ['input']);
    assert.deepEqual(session.outputNames, ['output']);
    const metadata = session.inputMetadata[0];
    assert.ok(metadata.isTensor);
    assert.deepEqual(metadata.shape, ['batch', 4, shape.dimF, shape.dimT]);
    const dims = [shape.batch, 4, shape.dimF, shape.dimT];
    const result = await session.run({ input: new ort.Tensor('float32', input, dims) });
    assert.deepEqual(result.output.dims, dims);
    return result.output.data as Float32Array;
  } finally {
    await session.release();
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function negated(values: Float32Array): Float32Array {
  return values.map((v) => -v);
}

/** Sum of the element counts of all initializers, read back from the encoded model. */
function initializerValueCount(bytes: Uint8Array): number {
  const model = onnx.ModelProto.decode(bytes);
  return (model.graph?.initializer ?? []).reduce(
    (sum, tensor) => sum + (tensor.dims ?? []).reduce((product: number, dim) => product * Number(dim), 1),
    0,
  );
}

describe('onnxGraph', () => {
  test('writes IR 8 / opset 17 with a symbolic batch axis', () => {
    const model = onnx.ModelProto.decode(identityModel({ dimF: 8, dimT: 4 }).bytes);
    assert.equal(Number(model.irVersion), ONNX_IR_VERSION);
    assert.deepEqual(
      model.opsetImport.map((o) => [o.domain, Number(o.version)]),
      [['', ONNX_OPSET]],
    );
    const dims = model.graph?.input?.[0].type?.tensorType?.shape?.dim ?? [];
    assert.equal(dims[0].dimParam, 'batch');
    assert.deepEqual(
      dims.slice(1).map((d) => Number(d.dimValue)),
      [4, 8, 4],
    );
  });
});

describe('seededRandom', () => {
  test('is deterministic per seed and gives roughly standard normals', () => {
    assert.deepEqual(normalArray(seededRandom(5), 16), normalArray(seededRandom(5), 16));
    assert.notDeepEqual(normalArray(seededRandom(5), 16), normalArray(seededRandom(6), 16));
    const samples = normalArray(seededRandom(1), 20000);
    const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
    const variance = samples.reduce((s, v) => s + (v - mean) ** 2, 0) / samples.length;
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  });
});

describe('analytic models in onnxruntime', () => {
  const shape: MdxBatchShape = { batch: 2, dimF: 32, dimT: 16 };

  test('identity returns the input exactly', async () => {
    const input = randomInput(1, shape);
    assert.deepEqual(await runModel(identityModel(shape).bytes, input, shape), input);
  });

  test('binGain multiplies each frequency bin by its gain', async () => {
    const gains = uniformArray(seededRandom(2), shape.dimF, -2, 2);
    const input = randomInput(3, shape);
    const output = await runModel(binGainModel({ ...shape, gains }).bytes, input, shape);
    const plane = shape.dimF * shape.dimT;
    // A product of two float32 values is exact in float64, so fround gives the same rounding as ORT.
    const expected = input.map((v, i) => Math.fround(gains[Math.floor((i % plane) / shape.dimT)] * v));
    assert.deepEqual(output, expected);
  });

  test('oddBreaking matches its plain-JS closed form and is not odd', async () => {
    const { bytes, params } = oddBreakingModel({ dimF: shape.dimF, dimT: shape.dimT, seed: 4 });
    const input = randomInput(5, shape);
    const output = await runModel(bytes, input, shape);
    assert.ok(maxAbsDifference(output, evalOddBreaking(params, input, shape)) < 1e-5);

    const outputOfNegated = await runModel(bytes, negated(input), shape);
    assert.ok(maxAbsDifference(outputOfNegated, evalOddBreaking(params, negated(input), shape)) < 1e-5);
    // Odd would mean F(−x) = −F(x); the denoise average would then equal F(x).
    assert.ok(maxAbsDifference(outputOfNegated, negated(output)) > 0.1);
    const denoised = output.map((v, i) => 0.5 * v - 0.5 * outputOfNegated[i]);
    assert.ok(maxAbsDifference(denoised, output) > 0.05);
  });
});

describe('ConvTDFNet', () => {
  const tiny = { dimF: 64, dimT: 16, channels: 8, levels: 3 } as const;

  test('runs with batch 1 and 2, keeps the shape, stays finite, keeps batch entries independent', async () => {
    const { bytes } = convTdfNetModel({ ...tiny, seed: 11 });
    const single = { batch: 1, dimF: tiny.dimF, dimT: tiny.dimT };
    const first = randomInput(12, single);
    const second = randomInput(13, single);
    const firstAlone = await runModel(bytes, first, single);
    const secondAlone = await runModel(bytes, second, single);
    const both = new Float32Array(first.length * 2);
    both.set(first);
    both.set(second, first.length);
    const together = await runModel(bytes, both, { ...single, batch: 2 });

    assert.ok(together.every(Number.isFinite));
    assert.ok(maxAbsDifference(firstAlone, secondAlone) > 1e-3, 'different inputs give different outputs');
    assert.ok(maxAbsDifference(together.subarray(0, first.length), firstAlone) < 1e-5);
    assert.ok(maxAbsDifference(together.subarray(first.length), secondAlone) < 1e-5);
  });

  test('the default five levels run at a small size', async () => {
    const shape = { batch: 1, dimF: 256, dimT: 32 };
    const output = await runModel(
      convTdfNetModel({ ...shape, channels: 4, seed: 3 }).bytes,
      randomInput(4, shape),
      shape,
    );
    assert.ok(output.every(Number.isFinite));
  });

  test('the parameter count formula equals the initializers written', () => {
    const shapes: ConvTdfNetShape[] = [
      tiny,
      { dimF: 256, dimT: 32, channels: 4 },
      { dimF: 128, dimT: 8, levels: 1 },
    ];
    for (const shape of shapes) {
      const { bytes, parameterCount } = convTdfNetModel({ ...shape, seed: 1 });
      assert.equal(convTdfNetParamCount(shape), initializerValueCount(bytes));
      assert.equal(parameterCount, initializerValueCount(bytes));
    }
  });

  test('the full-size count is within 1 % of the UVR models’ 16.7 M parameters', (t) => {
    const count = convTdfNetParamCount({ dimF: 3072, dimT: 256, channels: 48, levels: 5 });
    t.diagnostic(`full-size ConvTDFNet: ${count} parameters, ${((count * 4) / 1e6).toFixed(2)} MB float32`);
    assert.ok(Math.abs(count / 16.7e6 - 1) < 0.01, `${count}`);
  });

  test('rejects shapes the levels cannot halve', () => {
    assert.throws(() => convTdfNetParamCount({ dimF: 64, dimT: 16 }), /multiples of 2\^levels/);
    assert.throws(() => convTdfNetParamCount({ dimF: 128, dimT: 32, levels: 5 }), /bottleneck/);
  });
});

describe('writeModelWithSidecar', () => {
  test('writes x.onnx and x.json side by side', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stembot-fixture-'));
    try {
      const { bytes } = identityModel({ dimF: 8, dimT: 4 });
      const params = { n_fft: 7680, dim_f: 8, dim_t: 4, compensate: 1.035, stem: 'Instrumental' } as const;
      const written = await writeModelWithSidecar(join(dir, 'sub', 'x.onnx'), bytes, params);
      assert.equal(written.sidecarPath, join(dir, 'sub', 'x.json'));
      assert.ok((await readFile(written.onnxPath)).equals(bytes));
      const sidecar: unknown = JSON.parse(await readFile(written.sidecarPath, 'utf8'));
      assert.deepEqual(sidecar, params);
      assert.deepEqual(modelParamsSchema.parse(sidecar), params, 'the project reads it as model parameters');
      await assert.rejects(
        writeModelWithSidecar(join(dir, 'y.onnx'), bytes, { ...params, stem: 'Drums' as 'Vocals' }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
