/**
 * KaraFan v1.3 "Silent" gate (spec §D.2, §F.11): zero the stretches longer than 1 s whose 10 ms windows all stay
 * at or below the threshold, with 0.25 s linear fades at the borders. Not a noise gate: quiet is kept as is unless
 * it lasts long enough, and the trailing silence of a song is never gated.
 */
import { channels, type Stereo } from '../audio/stereo.js';

// spec §D.2: W = int(0.010·44100) = 441 samples (10 ms), the measuring window and its hop.
export const SILENT_WINDOW = 441;
// spec §D.2: MIN = 44100 samples (1 s); a quiet stretch is gated only when end − start > MIN.
export const SILENT_MIN_LENGTH = 44100;
// spec §D.2: FADE = int(0.250·44100) = 11025 samples (0.25 s).
export const SILENT_FADE = 11025;
// spec §D.2: librosa amplitude_to_db floor, amin = 1e-5 on the RMS, i.e. amin² = 1e-10 on the power
// (computed as 1e-5² like librosa, which is 1.0000000000000002e-10 in float64).
const AMIN = 1e-5;
const POWER_FLOOR = AMIN * AMIN;

/**
 * Level in dB of the stereo segment [start, end) as v1.3 measures it (spec §D.2): librosa `feature.rms` with
 * frame = hop = windowLength, center = True and zero padding, then `amplitude_to_db`, maxed over channels and
 * frames. The segment is padded with ⌊W/2⌋ zeros on both sides and cut into W-sample frames; each frame's power is
 * (Σ squares)/W. For W = 441 that is a single frame of 220 zeros + the segment's first 221 samples, divided by
 * 441: only the first half of each window counts, with a −3 dB bias (spec §F.11).
 */
export function windowLevelDb(
  audio: Stereo,
  start: number,
  end: number,
  windowLength: number = SILENT_WINDOW,
): number {
  const length = Math.min(end, audio.left.length) - start;
  if (length <= 0) throw new RangeError(`windowLevelDb: empty segment [${start}, ${end})`);
  const pad = Math.floor(windowLength / 2);
  const frames = 1 + Math.floor((length + 2 * pad - windowLength) / windowLength);
  let maxPower = 0;
  for (const ch of channels(audio)) {
    for (let f = 0; f < frames; f++) {
      // frame f covers padded[f·W, f·W + W) = segment[f·W − pad, f·W − pad + W) ∩ [0, length)
      const from = Math.max(0, f * windowLength - pad);
      const to = Math.min(length, f * windowLength - pad + windowLength);
      let sum = 0;
      for (let i = from; i < to; i++) {
        const v = ch[start + i];
        sum += v * v;
      }
      const rms = Math.sqrt(sum / windowLength); // librosa takes the RMS and amplitude_to_db squares it again
      maxPower = Math.max(maxPower, rms * rms);
    }
  }
  return 10 * Math.log10(Math.max(POWER_FLOOR, maxPower));
}

/** numpy `linspace(from, to, count)`: from + k·step with step = (to − from)/(count − 1), last point exactly `to`. */
function linspace(from: number, to: number, count: number): Float64Array {
  const out = new Float64Array(count);
  const step = (to - from) / (count - 1);
  for (let k = 0; k < count; k++) out[k] = k * step + from;
  out[count - 1] = to;
  return out;
}

// spec §D.2: fade_out = linspace(1, 0, FADE), fade_in = linspace(0, 1, FADE), both endpoints included.
const FADE_OUT = linspace(1, 0, SILENT_FADE);
const FADE_IN = linspace(0, 1, SILENT_FADE);

/**
 * The v1.3 gate at `thresholdDb` (−50 on `x_norm − m` and on the final vocals, −61 on the final music; spec §A.2).
 * Returns a gated copy; the caller's buffers are left alone (KaraFan works in place).
 *
 * Per 441-sample window i: loud (level > threshold, strictly) → if the quiet stretch seen since the last loud
 * window is longer than MIN, gate it, then start = i; quiet → end = i + W. `start` is the beginning of the last
 * loud window, so the fade-out begins inside it (spec §D.2).
 */
export function silentGate(audio: Stereo, thresholdDb: number): Stereo {
  const out: Stereo = { left: audio.left.slice(), right: audio.right.slice() };
  const length = audio.left.length;
  let start = 0;
  let end = 0;
  for (let i = 0; i < length; i += SILENT_WINDOW) {
    // Measuring the input instead of the copy being gated is the same: every write below lands before i.
    const level = windowLevelDb(audio, i, i + SILENT_WINDOW);
    if (level > thresholdDb) {
      if (end - start > SILENT_MIN_LENGTH) {
        if (start > SILENT_FADE) {
          applyGain(out, start, FADE_OUT);
          start += SILENT_FADE;
        }
        if (end < length - SILENT_FADE) {
          applyGain(out, end - SILENT_FADE, FADE_IN);
          end -= SILENT_FADE;
        }
        for (const ch of channels(out)) ch.fill(0, start, end);
      }
      start = i;
    } else {
      end = i + SILENT_WINDOW;
    }
  }
  // A quiet stretch that runs to the end is never gated in v1.3 (spec §D.2: "Trailing silence is never gated").
  return out;
}

function applyGain(audio: Stereo, from: number, gain: Float64Array): void {
  for (const ch of channels(audio)) {
    for (let k = 0; k < gain.length; k++) ch[from + k] = ch[from + k] * gain[k];
  }
}
