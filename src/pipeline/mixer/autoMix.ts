/**
 * The automatic vocal + backing-track mixer (issue 7, after "Autonomous Vocal and Backing Track Mixing"): a
 * singer's recording laid over a karaoke track with four rule-based decisions, each measured, never guessed:
 *
 * 1. equalisation by masking reduction (Hafezi & Reiss): peak filters on the vocal ({@link planMaskingEq});
 * 2. compression: from threshold 0 dB / ratio 3:1, threshold −3 dB and ratio +0.1 per step, until the vocal's
 *    loudness range (EBU Tech 3342) is under 16.7 LU (target 15.7 ± 1) or the threshold is under −35 dB;
 * 3. reverb: reverb time from the backing's tempo, RT = −T/45 + 40/9 s, 60 % dry / 40 % wet;
 * 4. level balance: the vocal's integrated loudness (BS.1770) 0.5 LU under the backing's, so it sits about
 *    3 dB under the whole mix.
 *
 * The `guide` preset instead lays the vocal as it is, `guideDb` under its own level (a karaoke guide vocal:
 * the separated Vocals quietly back over the Music stem). Either way the mix is lowered as a whole, never
 * limited, if its peak would clip. Pure: no files, no platform.
 */
import { stemLevels } from '../analysis/levels.js';
import { allocStereo, type Stereo, scaleStereo, stereoDuration } from '../audio/stereo.js';
import { integratedLoudness, loudnessRange } from '../dsp/loudness.js';
import { StembotError } from '../errors.js';
import { compress } from './compressor.js';
import { applyMaskingEq, type MaskingEqPlan, planMaskingEq } from './maskingEq.js';
import { applyReverb, reverbTimeForTempo } from './reverb.js';
import { estimateTempo } from './tempo.js';

export interface MixerSettings {
  readonly preset: 'auto' | 'guide';
  /** guide preset: how far under its own level the vocal goes, dB */
  readonly guideDb: number;
}

/** The paper's targets and search steps. */
export const MIX_RULES = {
  /** vocal loudness minus backing loudness, LU */
  vocalToBackingLu: -0.5,
  /** compression stops once the vocal's LRA is below this (target 15.7 ± 1 LU) */
  maxVocalLraLu: 16.7,
  startThresholdDb: 0,
  startRatio: 3,
  thresholdStepDb: -3,
  ratioStep: 0.1,
  /** compression stops once the threshold would go below this */
  minThresholdDb: -35,
  /** vocal attack and release, ms: fast enough to catch syllables, slow enough not to distort */
  attackMs: 5,
  releaseMs: 80,
  reverbWet: 0.4,
  /** the vocal is peak-normalised here before compression, so the thresholds mean the same on every take */
  vocalPeakDb: -1,
  /** the mix's highest sample, dBFS: above it the whole mix is lowered */
  ceilingDb: -0.3,
} as const;

export interface CompressionDecision {
  readonly thresholdDb: number;
  readonly ratio: number;
  readonly steps: number;
  readonly lraBeforeLu: number;
  readonly lraAfterLu: number;
  readonly stoppedBecause: 'range reached' | 'threshold floor' | 'already in range';
}

export interface MixDecisions {
  readonly preset: 'auto' | 'guide';
  readonly vocal: { readonly durationS: number; readonly loudnessLufs: number };
  readonly backing: { readonly durationS: number; readonly loudnessLufs: number };
  /** gain applied to the vocal before compression, dB (peak normalisation) */
  readonly vocalTrimDb: number | null;
  readonly eq: MaskingEqPlan | null;
  readonly compression: CompressionDecision | null;
  readonly reverb: {
    readonly tempoBpm: number;
    readonly tempoConfidence: number;
    readonly rt60S: number;
    readonly wet: number;
  } | null;
  /** the final vocal gain (level balance, or the guide's cut), dB */
  readonly vocalGainDb: number;
  /** vocal loudness minus backing loudness in the mix, LU */
  readonly vocalToBackingLu: number;
  /** gain on the whole mix so it does not clip, dB (0: none) */
  readonly mixGainDb: number;
  readonly mixPeakDb: number;
}

export interface MixOutcome {
  /** as long as the backing, or the vocal with its reverb tail when that is longer */
  readonly audio: Stereo;
  readonly decisions: MixDecisions;
  /** every decision in words, one line each */
  readonly report: string[];
}

const dbToGain = (db: number) => 10 ** (db / 20);

/**
 * Mixes `vocal` over `backing` (44.1 kHz stereo each). Throws INPUT_SILENT when either is silent (nothing to
 * balance against). `onProgress` gets 0..1.
 */
export async function mixVocalOverBacking(
  vocal: Stereo,
  backing: Stereo,
  settings: MixerSettings,
  onProgress: (fraction: number) => void = () => undefined,
): Promise<MixOutcome> {
  const vocalLufs = integratedLoudness(vocal);
  const backingLufs = integratedLoudness(backing);
  if (!Number.isFinite(vocalLufs)) throw silent('vocal recording');
  if (!Number.isFinite(backingLufs)) throw silent('backing track');
  const inputs = {
    vocal: { durationS: stereoDuration(vocal), loudnessLufs: vocalLufs },
    backing: { durationS: stereoDuration(backing), loudnessLufs: backingLufs },
  };
  onProgress(0.05);
  if (settings.preset === 'guide') {
    const gainDb = -settings.guideDb;
    const decisions = sumAndGuard(scaleStereo(vocal, dbToGain(gainDb)), backing, {
      preset: 'guide',
      ...inputs,
      vocalTrimDb: null,
      eq: null,
      compression: null,
      reverb: null,
      vocalGainDb: gainDb,
      vocalToBackingLu: vocalLufs + gainDb - backingLufs,
    });
    onProgress(1);
    return decisions;
  }

  // 1. EQ by masking reduction, planned on the raw vocal against the backing
  const eq = await planMaskingEq(vocal, backing);
  let voice = applyMaskingEq(vocal, eq);
  onProgress(0.25);

  // 2. compression to the target loudness range, on a peak-normalised vocal
  const vocalTrimDb = MIX_RULES.vocalPeakDb - peakDb(voice);
  voice = scaleStereo(voice, dbToGain(vocalTrimDb));
  const compressed = compressToRange(voice);
  voice = compressed.audio;
  onProgress(0.6);

  // 3. reverb from the backing's tempo
  const tempo = await estimateTempo(backing);
  const rt60S = reverbTimeForTempo(tempo.bpm);
  voice = await applyReverb(voice, { rt60S, wet: MIX_RULES.reverbWet });
  onProgress(0.85);

  // 4. level balance on the processed vocal
  const processedLufs = integratedLoudness(voice);
  const vocalGainDb = backingLufs + MIX_RULES.vocalToBackingLu - processedLufs;
  const outcome = sumAndGuard(scaleStereo(voice, dbToGain(vocalGainDb)), backing, {
    preset: 'auto',
    ...inputs,
    vocalTrimDb,
    eq,
    compression: compressed.decision,
    reverb: { tempoBpm: tempo.bpm, tempoConfidence: tempo.confidence, rt60S, wet: MIX_RULES.reverbWet },
    vocalGainDb,
    vocalToBackingLu: MIX_RULES.vocalToBackingLu,
  });
  onProgress(1);
  return outcome;
}

/**
 * The paper's search: threshold 0 dB / ratio 3:1, then −3 dB and +0.1 a step, each try compressing the
 * uncompressed vocal, until its LRA is under 16.7 LU or the next threshold would be under −35 dB.
 */
export function compressToRange(vocal: Stereo): { audio: Stereo; decision: CompressionDecision } {
  const lraBeforeLu = loudnessRange(vocal);
  if (lraBeforeLu < MIX_RULES.maxVocalLraLu) {
    return {
      audio: vocal,
      decision: {
        thresholdDb: 0,
        ratio: 1,
        steps: 0,
        lraBeforeLu,
        lraAfterLu: lraBeforeLu,
        stoppedBecause: 'already in range',
      },
    };
  }
  let thresholdDb = MIX_RULES.startThresholdDb;
  let ratio = MIX_RULES.startRatio;
  for (let step = 1; ; step++) {
    const audio = compress(vocal, {
      thresholdDb,
      ratio,
      attackMs: MIX_RULES.attackMs,
      releaseMs: MIX_RULES.releaseMs,
    });
    const lraAfterLu = loudnessRange(audio);
    const reached = lraAfterLu < MIX_RULES.maxVocalLraLu;
    const floor = thresholdDb + MIX_RULES.thresholdStepDb < MIX_RULES.minThresholdDb;
    if (reached || floor) {
      return {
        audio,
        decision: {
          thresholdDb,
          ratio: Math.round(ratio * 10) / 10,
          steps: step,
          lraBeforeLu,
          lraAfterLu,
          stoppedBecause: reached ? 'range reached' : 'threshold floor',
        },
      };
    }
    thresholdDb += MIX_RULES.thresholdStepDb;
    ratio += MIX_RULES.ratioStep;
  }
}

/** vocal + backing, zero-padded to the longer; lowered as a whole when the peak would pass the ceiling. */
function sumAndGuard(
  vocal: Stereo,
  backing: Stereo,
  decided: Omit<MixDecisions, 'mixGainDb' | 'mixPeakDb'>,
): MixOutcome {
  const length = Math.max(vocal.left.length, backing.left.length);
  const mix = allocStereo(length);
  for (const key of ['left', 'right'] as const) {
    const out = mix[key];
    for (const part of [vocal[key], backing[key]]) {
      for (let i = 0; i < part.length; i++) out[i] += part[i];
    }
  }
  const peak = peakDb(mix);
  const mixGainDb = peak > MIX_RULES.ceilingDb ? MIX_RULES.ceilingDb - peak : 0;
  const audio = mixGainDb === 0 ? mix : scaleStereo(mix, dbToGain(mixGainDb));
  const decisions: MixDecisions = { ...decided, mixGainDb, mixPeakDb: peak + mixGainDb };
  return { audio, decisions, report: describeMix(decisions) };
}

const peakDb = (audio: Stereo): number => stemLevels(audio).peakDb;

function silent(what: string): StembotError {
  return new StembotError(
    'INPUT_SILENT',
    `The ${what} is silent (no loudness above −70 LUFS), so there is nothing to mix. Please check the file.`,
  );
}

/** "+3.2", "−0.5": always a sign, and a real minus, as level changes are written. */
const signed = (value: number, digits = 1) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`;
/** "−18.1": a level with a real minus when negative. */
const level = (value: number, digits = 1) => value.toFixed(digits).replace('-', '−');

/** Every decision in words, one line each, in the order they were taken. */
export function describeMix(d: MixDecisions): string[] {
  const lines = [
    `Vocal ${level(d.vocal.loudnessLufs)} LUFS (${d.vocal.durationS.toFixed(1)} s), backing ${level(d.backing.loudnessLufs)} LUFS (${d.backing.durationS.toFixed(1)} s)`,
  ];
  if (d.preset === 'guide') {
    lines.push(`Guide vocal: ${signed(d.vocalGainDb)} dB, no other processing`);
  } else {
    if (d.eq && d.eq.decisions.length > 0) {
      for (const band of d.eq.decisions) {
        lines.push(
          `EQ ${formatHz(band.centerHz)} ${signed(band.gainDb)} dB (Q ${band.q.toFixed(2)}): ${band.reason}`,
        );
      }
    } else {
      lines.push('EQ: no masking to correct');
    }
    if (d.vocalTrimDb !== null) {
      lines.push(
        `Vocal trimmed ${signed(d.vocalTrimDb)} dB to a ${level(MIX_RULES.vocalPeakDb)} dBFS peak before compression`,
      );
    }
    const c = d.compression;
    if (c) {
      lines.push(
        c.steps === 0
          ? `Compression: none, the vocal's loudness range is ${c.lraBeforeLu.toFixed(1)} LU already`
          : `Compression: threshold ${level(c.thresholdDb, 0)} dB, ratio ${c.ratio.toFixed(1)}:1 after ${c.steps} step${c.steps === 1 ? '' : 's'} (loudness range ${c.lraBeforeLu.toFixed(1)} → ${c.lraAfterLu.toFixed(1)} LU${c.stoppedBecause === 'threshold floor' ? ', stopped at the −35 dB floor' : ''})`,
      );
    }
    const r = d.reverb;
    if (r) {
      lines.push(
        `Reverb: tempo ${r.tempoBpm.toFixed(0)} BPM (confidence ${r.tempoConfidence.toFixed(2)}) → ${r.rt60S.toFixed(2)} s, ${Math.round((1 - r.wet) * 100)} % dry / ${Math.round(r.wet * 100)} % wet`,
      );
    }
    lines.push(
      `Level: vocal ${signed(d.vocalGainDb)} dB → ${signed(d.vocalToBackingLu)} LU against the backing`,
    );
  }
  if (d.mixGainDb !== 0) lines.push(`Mix lowered ${level(-d.mixGainDb)} dB so it does not clip`);
  return lines;
}

function formatHz(hz: number): string {
  return hz >= 1000 ? `${Number((hz / 1000).toPrecision(3))} kHz` : `${Math.round(hz)} Hz`;
}
