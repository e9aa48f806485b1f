/**
 * Tempo-mapped reverb for the vocal: the reverberation time follows the song's tempo (slow songs get long tails,
 * fast ones short), the impulse response is synthetic (decorrelated exponentially decaying noise with a pre-delay
 * and high-frequency damping), and the convolution is FFT overlap-add.
 */
import { SAMPLE_RATE, type Stereo } from '../audio/stereo.js';
import { createRealFft, isSupportedFftSize } from '../dsp/fft.js';
import { seededRandom } from '../../fixtures/seededRandom.js';

/**
 * The range reverbTimeForTempo clamps to. Below 0.4 s a reverb is a small room's ambience, and the line reaches
 * it at 182 BPM, then 0 s at 200 BPM and negative beyond; above 3 s (the line's value at 65 BPM) a vocal tail
 * smears whole phrases, and the IR length (so the convolution cost) stays bounded.
 */
export const REVERB_MIN_RT60_S = 0.4;
export const REVERB_MAX_RT60_S = 3;
/**
 * Pre-delay before the tail starts: 20 ms, within the 10–30 ms usual for vocal reverbs, keeps the dry attack
 * clear of the tail (the precedence effect fuses reflections under ~30 ms with the direct sound).
 */
export const REVERB_PRE_DELAY_S = 0.02;
/**
 * High-frequency damping: the noise runs through a one-pole low-pass whose cutoff falls exponentially from
 * 12 kHz at the start of the tail to 1.5 kHz at t = RT60 (three octaves), so highs die out before mids as air and
 * wall absorption make them do in rooms. The gain is renormalised sample by sample for the filter's noise power
 * gain, so the broadband energy still decays by exactly 60 dB over RT60 (the measured RT60 is the asked one).
 */
export const REVERB_DAMPING_START_HZ = 12000;
export const REVERB_DAMPING_END_HZ = 1500;
/** Longest impulse reverbImpulse makes (memory and convolution cost). */
const MAX_RT60_S = 10;

/**
 * The paper's mapping ("Autonomous Vocal and Backing Track Mixing"): RT = −T/45 + 40/9 seconds for tempo T in
 * BPM (1.7778 s at 120 BPM; −1/45 s per BPM), clamped to [REVERB_MIN_RT60_S, REVERB_MAX_RT60_S], i.e. the line
 * holds from 65 to 182 BPM.
 */
export function reverbTimeForTempo(bpm: number): number {
  if (!(Number.isFinite(bpm) && bpm > 0))
    throw new RangeError(`reverbTimeForTempo: tempo ${bpm} BPM must be > 0`);
  const rt = -bpm / 45 + 40 / 9;
  return Math.min(REVERB_MAX_RT60_S, Math.max(REVERB_MIN_RT60_S, rt));
}

/** Samples in reverbImpulse(rt60S): the pre-delay (zeros) then ⌈RT60·fs⌉ samples of tail, down 60 dB at its end. */
export function reverbImpulseLength(rt60S: number, sampleRate: number = SAMPLE_RATE): number {
  return Math.round(REVERB_PRE_DELAY_S * sampleRate) + Math.ceil(rt60S * sampleRate);
}

/** How much longer applyReverb's output is than its input: the impulse length − 1 (full convolution). */
export function reverbTailLength(rt60S: number, sampleRate: number = SAMPLE_RATE): number {
  return reverbImpulseLength(rt60S, sampleRate) - 1;
}

function checkRt60(what: string, rt60S: number): void {
  if (!(rt60S > 0 && rt60S <= MAX_RT60_S)) {
    throw new RangeError(`${what}: RT60 ${rt60S} s must lie in (0, ${MAX_RT60_S}] s`);
  }
}

/**
 * One channel of the impulse: Gaussian noise → damping low-pass → envelope 10^(−3·t/RT60) (amplitude, so the
 * energy is down 60 dB at t = RT60), after the pre-delay; then scaled to unit energy (Σh² = 1).
 */
function impulseChannel(
  rt60S: number,
  sampleRate: number,
  random: ReturnType<typeof seededRandom>,
): Float32Array {
  const preDelay = Math.round(REVERB_PRE_DELAY_S * sampleRate);
  const tail = Math.ceil(rt60S * sampleRate);
  const h = new Float64Array(preDelay + tail);
  const decayPerSample = 10 ** (-3 / (rt60S * sampleRate));
  const cutoffRatio = (REVERB_DAMPING_END_HZ / REVERB_DAMPING_START_HZ) ** (1 / (rt60S * sampleRate));
  let cutoff = Math.min(REVERB_DAMPING_START_HZ, 0.45 * sampleRate);
  let envelope = 1;
  let state = 0;
  let energy = 0;
  for (let i = 0; i < tail; i++) {
    // y[n] = (1 − a)·x[n] + a·y[n−1], a = e^{−2π fc/fs}; white-noise power gain (1 − a)/(1 + a)
    const a = Math.exp((-2 * Math.PI * cutoff) / sampleRate);
    state = (1 - a) * random.normal() + a * state;
    const v = envelope * state * Math.sqrt((1 + a) / (1 - a));
    h[preDelay + i] = v;
    energy += v * v;
    envelope *= decayPerSample;
    cutoff *= cutoffRatio;
  }
  const out = new Float32Array(h.length);
  const scale = 1 / Math.sqrt(energy);
  for (let i = 0; i < h.length; i++) out[i] = h[i] * scale;
  return out;
}

/**
 * A synthetic stereo reverb impulse response of reverbImpulseLength(rt60S) samples: REVERB_PRE_DELAY_S of
 * silence, then exponentially decaying Gaussian noise whose energy is down 60 dB at rt60S after the tail starts,
 * darkening as it decays (REVERB_DAMPING_*). Left and right are independent noises (decorrelated, for width).
 * Each channel has unit energy: Σh² = 1. The same seed gives the same impulse.
 */
export function reverbImpulse(rt60S: number, sampleRate: number = SAMPLE_RATE, seed = 1): Stereo {
  checkRt60('reverbImpulse', rt60S);
  const random = seededRandom(seed);
  const left = impulseChannel(rt60S, sampleRate, random);
  const right = impulseChannel(rt60S, sampleRate, random);
  return { left, right };
}

export interface ReverbSettings {
  /** reverberation time in seconds, e.g. reverbTimeForTempo(bpm) */
  rt60S: number;
  /** wet share in [0, 1]: output = (1 − wet)·dry + wet·(dry ∗ h); 0.4 = 60 % dry / 40 % wet */
  wet: number;
  /** seed of the impulse's noise (default 1) */
  seed?: number;
}

/** Smallest FFT size PFFFT accepts (2^a·3^b·5^c, a ≥ 5) that is ≥ n. */
function supportedFftSizeAtLeast(n: number): number {
  let size = Math.max(32, Math.ceil(n / 32) * 32);
  while (!isSupportedFftSize(size)) size += 32;
  return size;
}

/**
 * Full linear convolution x ∗ h (length x.length + h.length − 1) by FFT overlap-add: h is transformed once at size
 * N ≥ 2·h.length, x is cut into blocks of N − h.length + 1 samples, each block's product spectrum is transformed
 * back and added at its offset. Float32 transforms (PFFFT); `scale` multiplies the result.
 */
async function convolve(x: Float32Array, h: Float32Array, scale: number): Promise<Float32Array> {
  const m = h.length;
  const out = new Float32Array(x.length + m - 1);
  if (x.length === 0) return out;
  const size = supportedFftSizeAtLeast(Math.max(2 * m, 4096));
  const block = size - m + 1;
  const fft = await createRealFft(size);
  const kernel = new Float32Array(size);
  const buffer = new Float32Array(size);
  kernel.set(h);
  fft.forward(kernel, kernel);
  const spectrum = new Float32Array(size);
  const gain = scale / size; // the inverse is not normalised
  for (let start = 0; start < x.length; start += block) {
    const length = Math.min(block, x.length - start);
    buffer.fill(0);
    buffer.set(x.subarray(start, start + length));
    fft.forward(buffer, spectrum);
    // product in PFFFT's ordered layout: [re0, reN/2, re1, im1, …]
    spectrum[0] *= kernel[0];
    spectrum[1] *= kernel[1];
    for (let k = 2; k < size; k += 2) {
      const [re, im] = [spectrum[k], spectrum[k + 1]];
      spectrum[k] = re * kernel[k] - im * kernel[k + 1];
      spectrum[k + 1] = re * kernel[k + 1] + im * kernel[k];
    }
    fft.inverse(spectrum, buffer);
    const end = Math.min(out.length, start + length + m - 1);
    for (let i = start; i < end; i++) out[i] += buffer[i - start] * gain;
  }
  return out;
}

/**
 * Reverb on `audio`: output = (1 − wet)·x + wet·(x ∗ h), per channel, h = reverbImpulse(rt60S, sampleRate, seed)
 * (unit energy per channel; left input through the left impulse, right through the right).
 * The output is longer than the input by reverbTailLength(rt60S) samples (full convolution; the dry part is
 * zero there), so the mixer pads the backing by that much, or cuts both to the input length.
 */
export async function applyReverb(
  audio: Stereo,
  settings: ReverbSettings,
  sampleRate: number = SAMPLE_RATE,
): Promise<Stereo> {
  const { rt60S, wet, seed = 1 } = settings;
  checkRt60('applyReverb', rt60S);
  if (!(wet >= 0 && wet <= 1)) throw new RangeError(`applyReverb: wet ${wet} must lie in [0, 1]`);
  const impulse = reverbImpulse(rt60S, sampleRate, seed);
  const channel = async (x: Float32Array, h: Float32Array): Promise<Float32Array> => {
    const out = await convolve(x, h, wet);
    const dry = 1 - wet;
    for (let i = 0; i < x.length; i++) out[i] += dry * x[i];
    return out;
  };
  return { left: await channel(audio.left, impulse.left), right: await channel(audio.right, impulse.right) };
}
