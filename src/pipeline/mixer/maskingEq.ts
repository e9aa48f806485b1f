/**
 * Masking-reduction EQ on the vocal, after Hafezi & Reiss, "Autonomous multitrack equalization based on masking
 * reduction" (JAES 63(5), 2015), reduced to the two-track case of "Autonomous Vocal and Backing Track Mixing":
 * measure both tracks' spectra in octave bands over the frames where each is playing, express each band's level
 * relative to the track's own mean band level, find the backing's essential bands and the vocal's top bands, then
 * put peak filters on the vocal only: a cut where the vocal masks an essential band of the backing, a boost where
 * the backing masks one of the vocal's top bands. Comparing relative levels makes the plan independent of the two
 * tracks' gains, so it can be made on the raw recordings before the level balance (which sets the loudness offset
 * between them anyway). The papers' exact constants (band layout, counts, margins, gain law) could not be
 * found in the sources available; the values below are our documented choices.
 */
import { SAMPLE_RATE, type Stereo } from '../audio/stereo.js';
import { applyBiquadsStereo, type Biquad, peakingEq } from '../dsp/biquad.js';
import { createRealFft, powerSpectrum } from '../dsp/fft.js';
import { periodicHann } from '../dsp/stft.js';

export interface EqBandLevel {
  /** band centre in Hz */
  centerHz: number;
  /**
   * the vocal's level in the band relative to its mean band level, dB (the level: mean square of the band's part
   * of the signal over the gated frames, in dB; the mean: of the band powers, in dB). Gain-independent.
   */
  vocalDb: number;
  /** the backing's, likewise */
  backingDb: number;
}

export interface EqDecision {
  centerHz: number;
  /** peak gain in dB: < 0 cut, > 0 boost, |gain| ≤ MASKING_EQ_MAX_GAIN_DB */
  gainDb: number;
  q: number;
  /** in plain English, e.g. "cut: the vocal masks the backing's essential band (1 kHz: vocal +4.1 dB over backing)" */
  reason: string;
}

export interface MaskingEqPlan {
  bands: EqBandLevel[];
  /** centres (Hz) of the backing's essential bands */
  essentialBackingBands: number[];
  /** centres (Hz) of the vocal's top bands */
  vocalTopBands: number[];
  /** at most one per band, in band order */
  decisions: EqDecision[];
}

/**
 * Octave bands, base-2 centres 1000·2^k Hz from 62.5 Hz to 16 kHz (ANSI S1.11 / IEC 61260 octave series;
 * nominal 63 Hz … 16 kHz), edges at centre·2^(±1/2); the 16 kHz band is cut at Nyquist. Octaves rather than
 * thirds: broad, gentle moves are what an unattended mixer should make, and the levels are steadier.
 */
export const MASKING_EQ_BAND_CENTERS_HZ = [62.5, 125, 250, 500, 1000, 2000, 4000, 8000, 16000];
const BAND_LABELS = ['63 Hz', '125 Hz', '250 Hz', '500 Hz', '1 kHz', '2 kHz', '4 kHz', '8 kHz', '16 kHz'];
/** Peak filter Q for a one-octave bandwidth N = 1: Q = 2^(N/2)/(2^N − 1) = √2 (RBJ cookbook, BW ↔ Q). */
export const MASKING_EQ_Q = Math.SQRT2;
/**
 * Gate: a frame (186 ms, hop 93 ms) counts only when its power is within 25 dB of the track's loud frames (the
 * 95th percentile of frame power, so one click does not set it). A soft verse, some 10–15 dB under a chorus,
 * stays in; the pauses between phrases (silence, breath noise, a separated vocal's bleed) drop out, so they do
 * not pull the band levels towards their own spectrum. Frames straddling a pause's edge still count.
 */
export const MASKING_EQ_GATE_DB = -25;
const GATE_REFERENCE_PERCENTILE = 0.95;
/** The vocal's top bands: the 4 highest relative to its mean band level (the rule), and above that mean. */
export const VOCAL_TOP_BAND_COUNT = 4;
/** The backing's essential bands: likewise its 4 highest above its mean (our choice, symmetric with the vocal). */
export const ESSENTIAL_BACKING_BAND_COUNT = 4;
/** Masking: the masker's band level exceeds the maskee's by more than this (3 dB: twice the power). */
export const MASKING_MARGIN_DB = 3;
/**
 * Gain = the masking amount (the level difference: the cut or boost brings the vocal's band to the backing's,
 * both relative to their means), capped at ±6 dB: a larger octave-wide move changes the vocal's timbre more than
 * the masking warrants.
 */
export const MASKING_EQ_GAIN_PER_DB = 1;
export const MASKING_EQ_MAX_GAIN_DB = 6;

const FFT_SIZE = 8192; // 5.4 Hz bins at 44.1 kHz: eight bins even in the 44–88 Hz band
const HOP = FFT_SIZE / 2;
const LEVEL_FLOOR_DB = -120;

interface TrackSpectrum {
  /** mean-square level per band, dB, over the gated frames (absolute) */
  levelsDb: number[];
  /** true when the track has no frame above digital silence */
  silent: boolean;
}

/**
 * FFT bins [from, to) of each band at this sample rate, by bin frequency; the lowest band also takes the bins
 * below its lower edge (DC excluded), so that nothing under 44 Hz is lost. Bands whose centre is within 5 % of
 * Nyquist are dropped (peakingEq needs the centre below Nyquist).
 */
function bandBins(sampleRate: number): { centerHz: number; label: string; from: number; to: number }[] {
  const binHz = sampleRate / FFT_SIZE;
  const nyquistBin = FFT_SIZE / 2;
  const out = [];
  for (let b = 0; b < MASKING_EQ_BAND_CENTERS_HZ.length; b++) {
    const center = MASKING_EQ_BAND_CENTERS_HZ[b];
    if (center >= 0.95 * (sampleRate / 2)) continue;
    const from = b === 0 ? 1 : Math.ceil(center / Math.SQRT2 / binHz);
    const to = Math.min(nyquistBin + 1, Math.ceil((center * Math.SQRT2) / binHz));
    out.push({ centerHz: center, label: BAND_LABELS[b], from, to });
  }
  return out;
}

/**
 * Per-band levels of one track over its gated frames. STFT: periodic Hann, 8192 points, hop 4096, frames from
 * sample 0 (the last one zero padded). Band power per frame = (2/(N·Σw²))·Σ_bins |X|², averaged over the two
 * channels: for a stationary signal, the mean square of its part in the band (Parseval).
 */
async function trackSpectrum(audio: Stereo, bands: ReturnType<typeof bandBins>): Promise<TrackSpectrum> {
  const fft = await createRealFft(FFT_SIZE);
  const window = periodicHann(FFT_SIZE);
  let windowEnergy = 0;
  for (const w of window) windowEnergy += w * w;
  const norm = 2 / (FFT_SIZE * windowEnergy) / 2; // last /2: mean of the two channels
  const length = audio.left.length;
  const frames = Math.max(1, Math.ceil(length / HOP));
  const bandPower = new Float64Array(frames * bands.length);
  const framePower = new Float64Array(frames);
  const frame = new Float32Array(FFT_SIZE);
  const spectrum = new Float32Array(FFT_SIZE);
  const power = new Float32Array(FFT_SIZE / 2 + 1);
  for (let t = 0; t < frames; t++) {
    const start = t * HOP;
    for (const channel of [audio.left, audio.right]) {
      for (let i = 0; i < FFT_SIZE; i++) frame[i] = start + i < length ? channel[start + i] * window[i] : 0;
      fft.forward(frame, spectrum);
      powerSpectrum(spectrum, power);
      let total = 0;
      for (let k = 0; k < power.length; k++) total += power[k];
      framePower[t] += total * norm;
      for (let b = 0; b < bands.length; b++) {
        const { from, to } = bands[b];
        let sum = 0;
        for (let k = from; k < to; k++) sum += power[k];
        bandPower[t * bands.length + b] += sum * norm;
      }
    }
  }

  const audible = Array.from(framePower).filter((p) => p > 0);
  if (audible.length === 0) return { levelsDb: bands.map(() => LEVEL_FLOOR_DB), silent: true };
  audible.sort((a, b) => a - b);
  const reference =
    audible[Math.min(audible.length - 1, Math.floor(GATE_REFERENCE_PERCENTILE * audible.length))];
  const threshold = reference * 10 ** (MASKING_EQ_GATE_DB / 10);
  const sums = new Float64Array(bands.length);
  let kept = 0;
  for (let t = 0; t < frames; t++) {
    if (!(framePower[t] > 0 && framePower[t] >= threshold)) continue;
    kept++;
    for (let b = 0; b < bands.length; b++) sums[b] += bandPower[t * bands.length + b];
  }
  const levelsDb = Array.from(sums, (s) => Math.max(LEVEL_FLOOR_DB, 10 * Math.log10(s / kept)));
  return { levelsDb, silent: false };
}

/** Indices of the `count` highest entries of `relative` that are > 0 (above the track's mean band level), ascending. */
function topBands(relative: number[], count: number): number[] {
  return relative
    .map((value, index) => ({ value, index }))
    .filter(({ value }) => value > 0)
    .sort((a, b) => b.value - a.value)
    .slice(0, count)
    .map(({ index }) => index)
    .sort((a, b) => a - b);
}

/**
 * Each band's level minus the track's mean band level, the mean taken over band powers: 10·log10(mean 10^(L/10)).
 * A power mean, not a mean of dB: one near-empty band (a vocal's 63 Hz, a 16 kHz band cut by an MP3 encoder)
 * would otherwise drag the mean down by several dB and lift every other band "above the mean".
 */
function relativeToMean(levelsDb: number[]): number[] {
  const meanPower = levelsDb.reduce((sum, l) => sum + 10 ** (l / 10), 0) / levelsDb.length;
  const mean = 10 * Math.log10(meanPower);
  return levelsDb.map((l) => l - mean);
}

function maskingGain(excessDb: number): number {
  return Math.min(MASKING_EQ_MAX_GAIN_DB, MASKING_EQ_GAIN_PER_DB * excessDb);
}

/**
 * Plan the vocal's masking-reduction EQ against the backing. Per octave band b, V[b] and B[b] are the gated band
 * levels minus the track's mean band level (dB). Essential backing bands: the ESSENTIAL_BACKING_BAND_COUNT highest
 * B[b], when > 0; vocal top bands: the VOCAL_TOP_BAND_COUNT highest V[b], when > 0. Then, vocal filters only:
 * - cut where b is essential to the backing and V[b] − B[b] > MASKING_MARGIN_DB, gain −min(6, V[b] − B[b]);
 * - boost where b is a vocal top band and B[b] − V[b] > MASKING_MARGIN_DB, gain +min(6, B[b] − V[b]).
 * The two cannot both hold in one band. Q = √2 (one octave). A silent track gives no decisions (and its levels
 * read 0 dB: a floor of −120 dB in every band).
 */
export async function planMaskingEq(
  vocal: Stereo,
  backing: Stereo,
  sampleRate: number = SAMPLE_RATE,
): Promise<MaskingEqPlan> {
  const bands = bandBins(sampleRate);
  const v = await trackSpectrum(vocal, bands);
  const k = await trackSpectrum(backing, bands);
  const vocalDb = relativeToMean(v.levelsDb);
  const backingDb = relativeToMean(k.levelsDb);
  const levels: EqBandLevel[] = bands.map((band, b) => ({
    centerHz: band.centerHz,
    vocalDb: vocalDb[b],
    backingDb: backingDb[b],
  }));
  if (v.silent || k.silent) {
    return { bands: levels, essentialBackingBands: [], vocalTopBands: [], decisions: [] };
  }
  const essential = topBands(backingDb, ESSENTIAL_BACKING_BAND_COUNT);
  const vocalTop = topBands(vocalDb, VOCAL_TOP_BAND_COUNT);
  const decisions: EqDecision[] = [];
  for (let b = 0; b < bands.length; b++) {
    const difference = vocalDb[b] - backingDb[b];
    const { centerHz, label } = bands[b];
    if (essential.includes(b) && difference > MASKING_MARGIN_DB) {
      decisions.push({
        centerHz,
        gainDb: -maskingGain(difference),
        q: MASKING_EQ_Q,
        reason: `cut: the vocal masks the backing's essential band (${label}: vocal +${difference.toFixed(1)} dB over backing)`,
      });
    } else if (vocalTop.includes(b) && -difference > MASKING_MARGIN_DB) {
      decisions.push({
        centerHz,
        gainDb: maskingGain(-difference),
        q: MASKING_EQ_Q,
        reason: `boost: the backing masks one of the vocal's top bands (${label}: backing +${(-difference).toFixed(1)} dB over vocal)`,
      });
    }
  }
  return {
    bands: levels,
    essentialBackingBands: essential.map((b) => bands[b].centerHz),
    vocalTopBands: vocalTop.map((b) => bands[b].centerHz),
    decisions,
  };
}

/** The plan's decisions as RBJ peaking filters (peakingEq(centre, gain, Q)), in band order, for the vocal. */
export function maskingEqFilters(plan: MaskingEqPlan, sampleRate: number = SAMPLE_RATE): Biquad[] {
  return plan.decisions.map((d) => peakingEq(d.centerHz, d.gainDb, d.q, sampleRate));
}

/** The vocal through the plan's filters (a copy; no decisions → an unchanged copy). */
export function applyMaskingEq(vocal: Stereo, plan: MaskingEqPlan, sampleRate: number = SAMPLE_RATE): Stereo {
  return applyBiquadsStereo(vocal, maskingEqFilters(plan, sampleRate));
}
