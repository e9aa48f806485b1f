/**
 * The automatic mixer end to end on constructed tracks, each decision checked against what it promises,
 * measured again independently on the output: the vocal 0.5 LU under the backing (BS.1770), the compression
 * search stopping where the paper's rule says, the reverb time from the backing's tempo, the guide vocal exactly
 * N dB down, the clipping guard, and every decision in the report.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SAMPLE_RATE, type Stereo, subtractStereo } from '../../src/pipeline/audio/stereo.js';
import { integratedLoudness, loudnessRange } from '../../src/pipeline/dsp/loudness.js';
import { isStembotError } from '../../src/pipeline/errors.js';
import { compressToRange, MIX_RULES, mixVocalOverBacking } from '../../src/pipeline/mixer/autoMix.js';
import { compress } from '../../src/pipeline/mixer/compressor.js';
import { reverbTimeForTempo } from '../../src/pipeline/mixer/reverb.js';
import { seededRandom } from '../../src/fixtures/seededRandom.js';

/**
 * A sung-like line: harmonic "syllables" (a fundamental moving over 220–440 Hz with five partials), 4 per
 * second with short gaps, at a level that follows `levelDb(t)`.
 */
function vocalLine(seconds: number, levelDb: (t: number) => number, seed = 1): Stereo {
  const random = seededRandom(seed);
  const n = Math.round(seconds * SAMPLE_RATE);
  const left = new Float32Array(n);
  const syllable = Math.round(SAMPLE_RATE / 4);
  let f0 = 220;
  let phase = 0;
  for (let i = 0; i < n; i++) {
    if (i % syllable === 0) f0 = 220 * 2 ** random.next();
    const inSyllable = (i % syllable) / syllable;
    const envelope = inSyllable < 0.85 ? Math.sin((Math.PI * inSyllable) / 0.85) : 0;
    phase += (2 * Math.PI * f0) / SAMPLE_RATE;
    let v = 0;
    for (let k = 1; k <= 5; k++) v += Math.sin(k * phase) / k;
    left[i] = 0.3 * envelope * v * 10 ** (levelDb(i / SAMPLE_RATE) / 20);
  }
  return { left, right: left.slice() };
}

/** A backing: a kick every beat at `bpm`, a hat on the off-beats and a sustained low chord, stereo. */
function backingTrack(seconds: number, bpm: number, gain = 1, seed = 2): Stereo {
  const random = seededRandom(seed);
  const n = Math.round(seconds * SAMPLE_RATE);
  const left = new Float32Array(n);
  const right = new Float32Array(n);
  const beat = (60 / bpm) * SAMPLE_RATE;
  for (let i = 0; i < n; i++) {
    const t = i / SAMPLE_RATE;
    const sinceBeat = (i % beat) / SAMPLE_RATE;
    const sinceOff = ((i + beat / 2) % beat) / SAMPLE_RATE;
    const kick = Math.exp(-sinceBeat * 30) * Math.sin(2 * Math.PI * 60 * sinceBeat);
    const hat = Math.exp(-sinceOff * 80) * (random.next() - 0.5) * 0.6;
    const chord = 0.08 * (Math.sin(2 * Math.PI * 110 * t) + Math.sin(2 * Math.PI * 165 * t));
    left[i] = gain * (0.5 * kick + hat + chord);
    right[i] = gain * (0.5 * kick + 0.8 * hat + chord);
  }
  return { left, right };
}

/** The backing laid into a buffer as long as `mix`, so mix − backing is what the mixer added. */
function padTo(audio: Stereo, length: number): Stereo {
  const pad = (x: Float32Array) => {
    const out = new Float32Array(length);
    out.set(x.subarray(0, length));
    return out;
  };
  return { left: pad(audio.left), right: pad(audio.right) };
}

describe('mixVocalOverBacking: automatic', () => {
  it('sets the processed vocal 0.5 LU under the backing, times the reverb from the tempo and reports it all', async () => {
    const vocal = vocalLine(20, () => -6, 3);
    const backing = backingTrack(24, 100, 0.5);
    const { audio, decisions, report } = await mixVocalOverBacking(vocal, backing, {
      preset: 'auto',
      guideDb: 12,
    });

    assert.equal(decisions.mixGainDb, 0, 'this mix does not clip, so the balance is measured unchanged');
    const added = subtractStereo(audio, padTo(backing, audio.left.length));
    const relative = integratedLoudness(added) - integratedLoudness(backing);
    assert.ok(Math.abs(relative - MIX_RULES.vocalToBackingLu) < 0.05, `vocal − backing = ${relative} LU`);

    assert.ok(decisions.reverb, 'a reverb decision');
    assert.ok(Math.abs(decisions.reverb.tempoBpm - 100) < 2, `tempo ${decisions.reverb.tempoBpm} BPM`);
    assert.equal(decisions.reverb.rt60S, reverbTimeForTempo(decisions.reverb.tempoBpm), 'RT from the tempo');
    assert.ok(Math.abs(decisions.reverb.rt60S - (-100 / 45 + 40 / 9)) < 0.05, 'RT = −T/45 + 40/9 at 100 BPM');
    assert.equal(decisions.reverb.wet, 0.4);

    assert.ok(audio.left.length >= backing.left.length, 'the mix is at least as long as the backing');
    assert.equal(report[0].startsWith('Vocal −'), true, `inputs first: ${report[0]}`);
    for (const pattern of [
      /^EQ/,
      /^Vocal trimmed/,
      /^Compression: /,
      /^Reverb: tempo 10\d BPM/,
      /^Level: vocal /,
    ]) {
      assert.ok(
        report.some((line) => pattern.test(line)),
        `the report has ${pattern}: ${report.join(' | ')}`,
      );
    }
  });

  it('compresses a vocal whose phrases swing 19 dB until its loudness range is under 16.7 LU', () => {
    // 8 s phrases alternating between 0 and −19 dB: LRA ≈ 19 LU before compression (Tech 3342's relative gate
    // drops what is over 20 LU under the programme, so no wider range can be measured)
    const vocal = vocalLine(48, (t) => (Math.floor(t / 8) % 2 === 0 ? 0 : -19), 4);
    const before = loudnessRange(vocal);
    assert.ok(before > 18, `the test vocal has a wide range: ${before} LU`);
    const { audio, decision } = compressToRange(vocal);
    assert.equal(decision.stoppedBecause, 'range reached');
    assert.ok(decision.lraAfterLu < MIX_RULES.maxVocalLraLu, `after: ${decision.lraAfterLu} LU`);
    assert.ok(
      Math.abs(loudnessRange(audio) - decision.lraAfterLu) < 1e-9,
      'the reported range is the output',
    );
    // the paper's ladder: threshold 0, −3, −6 … and ratio 3.0, 3.1, 3.2 … one rung per step
    assert.ok(decision.steps >= 2, `more than one step: ${decision.steps}`);
    assert.equal(decision.thresholdDb, -3 * (decision.steps - 1));
    assert.equal(decision.ratio, Math.round((3 + 0.1 * (decision.steps - 1)) * 10) / 10);
    // one step less would not have been enough: the search stops at the first rung that reaches the target
    const rungBefore = compress(vocal, {
      thresholdDb: decision.thresholdDb + 3,
      ratio: decision.ratio - 0.1,
      attackMs: MIX_RULES.attackMs,
      releaseMs: MIX_RULES.releaseMs,
    });
    const lraBefore = loudnessRange(rungBefore);
    assert.ok(lraBefore >= MIX_RULES.maxVocalLraLu, `the rung before leaves ${lraBefore} LU`);
  });

  it('stops at the −35 dB floor when no threshold reaches the range', () => {
    // a wide range, its peaks under −35 dBFS: no threshold down to −33 dB touches it, the range stays wide
    const vocal = vocalLine(48, (t) => (Math.floor(t / 8) % 2 === 0 ? -30 : -49), 5);
    let peak = 0;
    for (const v of vocal.left) peak = Math.max(peak, Math.abs(v));
    assert.ok(20 * Math.log10(peak) < -35, `peak ${20 * Math.log10(peak)} dBFS`);
    assert.ok(loudnessRange(vocal) > MIX_RULES.maxVocalLraLu, 'out of range before');
    const { decision } = compressToRange(vocal);
    assert.equal(decision.stoppedBecause, 'threshold floor');
    assert.equal(decision.thresholdDb, -33, 'the last rung above −35 dB');
    assert.equal(decision.steps, 12);
    assert.equal(decision.ratio, 4.1);
  });

  it('leaves a vocal already in range uncompressed', () => {
    const vocal = vocalLine(12, () => -3, 6);
    const { audio, decision } = compressToRange(vocal);
    assert.equal(decision.stoppedBecause, 'already in range');
    assert.equal(decision.steps, 0);
    assert.equal(audio, vocal, 'the same samples');
  });

  it('lowers the whole mix, never clips, when the sum would pass the ceiling', async () => {
    const vocal = vocalLine(10, () => 0, 7);
    const backing = backingTrack(10, 120, 1.9);
    const { audio, decisions, report } = await mixVocalOverBacking(vocal, backing, {
      preset: 'auto',
      guideDb: 12,
    });
    assert.ok(decisions.mixGainDb < 0, `lowered by ${decisions.mixGainDb} dB`);
    let peak = 0;
    for (const channel of [audio.left, audio.right])
      for (const v of channel) peak = Math.max(peak, Math.abs(v));
    assert.ok(
      Math.abs(20 * Math.log10(peak) - MIX_RULES.ceilingDb) < 0.01,
      `peak ${20 * Math.log10(peak)} dBFS`,
    );
    assert.ok(
      report.some((line) => /^Mix lowered \d+\.\d dB so it does not clip$/.test(line)),
      report.join(' | '),
    );
  });
});

describe('mixVocalOverBacking: guide vocal', () => {
  it('is the backing plus the vocal exactly N dB down, nothing else', async () => {
    const vocal = vocalLine(6, () => -6, 8);
    const backing = backingTrack(8, 120, 0.5);
    const { audio, decisions, report } = await mixVocalOverBacking(vocal, backing, {
      preset: 'guide',
      guideDb: 9,
    });
    assert.equal(audio.left.length, backing.left.length, 'as long as the longer input');
    const gain = 10 ** (-9 / 20);
    let worst = 0;
    for (const key of ['left', 'right'] as const) {
      for (let i = 0; i < audio[key].length; i++) {
        const expected = backing[key][i] + (i < vocal[key].length ? Math.fround(vocal[key][i] * gain) : 0);
        worst = Math.max(worst, Math.abs(audio[key][i] - expected));
      }
    }
    assert.ok(worst < 1e-6, `largest difference ${worst}`);
    assert.equal(decisions.compression, null);
    assert.equal(decisions.reverb, null);
    assert.equal(decisions.eq, null);
    assert.deepEqual(report.slice(1), ['Guide vocal: −9.0 dB, no other processing']);
  });
});

describe('mixVocalOverBacking: bad input', () => {
  it('refuses a silent vocal or backing with a message naming which', async () => {
    const silence = { left: new Float32Array(44100 * 3), right: new Float32Array(44100 * 3) };
    const song = backingTrack(3, 120, 0.5);
    for (const [vocal, backing, which] of [
      [silence, song, 'vocal recording'],
      [song, silence, 'backing track'],
    ] as const) {
      await assert.rejects(
        mixVocalOverBacking(vocal, backing, { preset: 'auto', guideDb: 12 }),
        (error: unknown) =>
          isStembotError(error) &&
          error.code === 'INPUT_SILENT' &&
          error.message.includes(`The ${which} is silent`),
      );
    }
  });
});
