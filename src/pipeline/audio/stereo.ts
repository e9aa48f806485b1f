/**
 * The one audio shape the pipeline works on: two channels of 32-bit float samples at 44.1 kHz.
 * spec §A.0: "The sample rate is always 44100 Hz internally. Audio is always stereo, shape [2, n]."
 */
export const SAMPLE_RATE = 44100;

export interface Stereo {
  readonly left: Float32Array;
  readonly right: Float32Array;
}

export function stereoLength(audio: Stereo): number {
  return audio.left.length;
}

export function allocStereo(length: number): Stereo {
  return { left: new Float32Array(length), right: new Float32Array(length) };
}

/** Duration in seconds of a stereo signal at SAMPLE_RATE. */
export function stereoDuration(audio: Stereo): number {
  return audio.left.length / SAMPLE_RATE;
}

/** Channels as an array, for loops that treat both alike. */
export function channels(audio: Stereo): [Float32Array, Float32Array] {
  return [audio.left, audio.right];
}

/** Cut or zero-pad the end to `length` samples (spec §F.19: fit to the reference length). */
export function fitLength(audio: Stereo, length: number): Stereo {
  const fit = (x: Float32Array): Float32Array => {
    if (x.length === length) return x;
    if (x.length > length) return x.slice(0, length);
    const out = new Float32Array(length);
    out.set(x);
    return out;
  };
  return { left: fit(audio.left), right: fit(audio.right) };
}

export function scaleStereo(audio: Stereo, gain: number): Stereo {
  const scale = (x: Float32Array): Float32Array => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] * gain;
    return out;
  };
  return { left: scale(audio.left), right: scale(audio.right) };
}

/** a − b, sample by sample. */
export function subtractStereo(a: Stereo, b: Stereo): Stereo {
  const minus = (x: Float32Array, y: Float32Array): Float32Array => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] - y[i];
    return out;
  };
  return { left: minus(a.left, b.left), right: minus(a.right, b.right) };
}
