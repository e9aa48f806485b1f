#!/usr/bin/env python3
"""Golden values for tests/unit/dsp.test.ts, computed with scipy itself.

Produced with Python 3, numpy 2.4.6 and scipy 1.17.1:

    python3 tests/reference/dsp_reference.py      # writes tests/fixtures/golden/dsp.json
    npx prettier --write tests/fixtures/golden/dsp.json   # the repo's `prettier --check .` covers fixtures

What it covers (spec /work/shared/spec/karafan-recipe.md):
  - resample_poly(x, 5, 4) and (x, 4, 5) with defaults, n = 1000, 1001, 1003 (spec §D.3 step 1);
  - butter(2, 14000/22050) low/high pass, lfilter_zi, filtfilt with default edge handling (spec §D.3 step 3);
  - KaraFan v1.3 Normalize, literal (spec §A.2 step 1);
  - KaraFan v1.3 Silent, ported literally from spec §D.2, with librosa's centered rms/amplitude_to_db written in
    numpy (librosa is not needed), on a synthetic gated-noise envelope.

Inputs are not stored: they come from mulberry32, an integer PRNG that the TS test reimplements bit for bit, and
every input sample is k/2^23 - 1 (exact in float32), so both languages start from identical samples.
scipy >= 1.15 computes resample_poly in float32 for float32 input; KaraFan's 2023 scipy computed in float64 and
the port does too (spec §E.5), so scipy gets float64 copies here.
"""

import json
import math
import os

import numpy as np
from scipy import signal

SR = 44100
MASK = 0xFFFFFFFF


def mulberry32(seed, count):
    """uint32 stream of mulberry32 (same as the JS one-liner with Math.imul)."""
    a = seed & MASK
    out = np.empty(count, dtype=np.uint64)
    for i in range(count):
        a = (a + 0x6D2B79F5) & MASK
        t = ((a ^ (a >> 15)) * (a | 1)) & MASK
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & MASK)) & MASK)) & MASK
        out[i] = (t ^ (t >> 14)) & MASK
    return out


def noise(seed, count):
    """Uniform noise in [-1, 1): (u >> 8)/2^23 - 1, exact in float32."""
    u = mulberry32(seed, count)
    return ((u >> np.uint64(8)).astype(np.float64) / 2.0**23 - 1.0).astype(np.float32)


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64)]


# ---------------------------------------------------------------------------------------------------------------
# resample_poly (spec §D.3 step 1)


def resample_cases():
    cases = []
    for n in (1000, 1001, 1003):
        x = noise(1, n).astype(np.float64)
        cases.append(
            {
                'seed': 1,
                'n': n,
                'up54': floats(signal.resample_poly(x, 5, 4)),
                'down45': floats(signal.resample_poly(x, 4, 5)),
            }
        )
    return cases


def polyphase_filter():
    # resample_poly's own design for 5/4: firwin(2*50 + 1, 1/5, window=('kaiser', 5.0)) * up
    return floats(signal.firwin(101, 1.0 / 5, window=('kaiser', 5.0)))


# ---------------------------------------------------------------------------------------------------------------
# Butterworth + filtfilt (spec §D.3 step 3)


def crossover_case():
    wn = 14000 / (SR / 2)
    b_lp, a_lp = signal.butter(2, wn, btype='low')
    b_hp, a_hp = signal.butter(2, wn, btype='high')
    x = noise(2, 1000).astype(np.float64)
    return {
        'cutoffHz': 14000,
        'lowpass': {'b': floats(b_lp), 'a': floats(a_lp), 'zi': floats(signal.lfilter_zi(b_lp, a_lp))},
        'highpass': {'b': floats(b_hp), 'a': floats(a_hp), 'zi': floats(signal.lfilter_zi(b_hp, a_hp))},
        'seed': 2,
        'n': 1000,
        'filtfiltLow': floats(signal.filtfilt(b_lp, a_lp, x)),
        'filtfiltHigh': floats(signal.filtfilt(b_hp, a_hp, x)),
    }


# ---------------------------------------------------------------------------------------------------------------
# KaraFan v1.3 Normalize (spec §A.2 step 1), literal


def karafan_normalize(audio):
    audio = audio.T

    # Suppress DC shift (center on 0.0 vertically)
    audio -= np.mean(audio)

    # Normalize audio peak amplitude to -1.0 dB
    max_peak = np.max(np.abs(audio))
    if max_peak > 0.0:
        max_db = 10 ** (-1.0 / 20)  # Convert -1.0 dB to linear scale
        audio /= max_peak
        audio *= max_db

    return audio.T


def normalize_case():
    n = 300
    left = noise(3, n)
    right = noise(4, n) * np.float32(0.5) + np.float32(0.25)  # exact in float32; DC offset of 0.25 on one channel
    out = karafan_normalize(np.stack([left, right]).astype(np.float32))
    assert out.dtype == np.float32
    return {'n': n, 'seedLeft': 3, 'seedRight': 4, 'left': floats(out[0]), 'right': floats(out[1])}


# ---------------------------------------------------------------------------------------------------------------
# KaraFan v1.3 Silent (spec §D.2), literal, with librosa's feature.rms + amplitude_to_db in numpy


def librosa_rms(y, frame_length, hop_length):
    """librosa.feature.rms(y=y, frame_length, hop_length) with its defaults center=True, pad_mode='constant'."""
    pad = frame_length // 2
    y = np.pad(y, [(0, 0), (pad, pad)], mode='constant')
    n_frames = 1 + (y.shape[-1] - frame_length) // hop_length
    frames = np.stack([y[:, f * hop_length : f * hop_length + frame_length] for f in range(n_frames)], axis=-1)
    power = np.mean(np.abs(frames) ** 2, axis=-2, keepdims=True)
    return np.sqrt(power)


def amplitude_to_db(S, ref=1.0, amin=1e-5, top_db=80.0):
    """librosa.amplitude_to_db: power_to_db(|S|^2, ref=ref^2, amin=amin^2, top_db)."""
    power = np.square(np.abs(S))
    log_spec = 10.0 * np.log10(np.maximum(amin**2, power))
    log_spec -= 10.0 * np.log10(np.maximum(amin**2, ref**2))
    return np.maximum(log_spec, log_spec.max() - top_db)


def karafan_silent_v13(audio_in, sample_rate, threshold_db=-50):
    """spec §D.2, v1.3. KaraFan v1.3 gates in place; this works on a copy so the caller keeps its input."""
    min_size = int(1.000 * sample_rate)  # 1000 ms
    window_frame = int(0.010 * sample_rate)  # 10 ms
    fade_duration = int(0.250 * sample_rate)  # 250 ms
    fade_out = np.linspace(1.0, 0.0, fade_duration)
    fade_in = np.linspace(0.0, 1.0, fade_duration)

    audio = audio_in.copy()
    start = 0
    end = 0
    audio_length = audio.shape[1]

    for i in range(0, audio_length, window_frame):
        RMS = np.max(
            amplitude_to_db(
                librosa_rms(audio[:, i : (i + window_frame)], frame_length=window_frame, hop_length=window_frame)
            )
        )
        if RMS > threshold_db:
            # Clean the "min_size" samples found
            if end - start > min_size:
                # Fade out
                if start > fade_duration:
                    audio[:, start : (start + fade_duration)] *= fade_out
                    start += fade_duration
                # Fade in
                if end < audio_length - fade_duration:
                    audio[:, (end - fade_duration) : end] *= fade_in
                    end -= fade_duration
                # Clean in between
                audio[:, start:end] = 0.0
            start = i
        else:
            end = i + window_frame

    return audio


# Gated-noise envelope: (start s, end s, amplitude). Boundaries are deliberately off the 441-sample grid.
ENVELOPE = [
    (0.0, 1.3037, 3e-4),  # leading quiet, > 1 s: gated, fade-in only
    (1.3037, 2.5011, 0.5),
    (2.5011, 4.7123, 2e-4),  # 2.2 s quiet: gated with both fades
    (4.7123, 5.4000, 0.3),
    (5.4000, 6.1234, 1e-4),  # 0.72 s quiet: kept
    (6.1234, 7.0000, 0.4),
    (7.0000, 8.0150, 5e-5),  # 1.015 s quiet: just over MIN once the window grid is counted, gated
    (8.0150, 8.6000, 0.2),
    (8.6000, 10.0000, 1e-4),  # trailing quiet: never gated
]
SILENT_THRESHOLD_DB = -50.0


def envelope_segments():
    """ENVELOPE in samples: [[start, end, float32 amplitude], ...]."""
    return [[int(round(t0 * SR)), int(round(t1 * SR)), float(np.float32(amp))] for t0, t1, amp in ENVELOPE]


def envelope_gain(length):
    gain = np.zeros(length, dtype=np.float32)
    for s0, s1, amp in envelope_segments():
        gain[s0:s1] = np.float32(amp)
    return gain


def runs(kinds):
    """[[start, end, kind], ...] for maximal runs of equal kinds."""
    out = []
    start = 0
    for i in range(1, len(kinds) + 1):
        if i == len(kinds) or kinds[i] != kinds[start]:
            out.append([start, i, kinds[start]])
            start = i
    return out


def classify(before, after):
    kinds = np.where(after == before, 'keep', np.where(after == 0, 'zero', 'scaled'))
    return runs(list(kinds))


def silent_case():
    length = int(ENVELOPE[-1][1] * SR)
    gain = envelope_gain(length)
    left = noise(5, length) * gain  # float32 * float32
    right = noise(6, length) * gain
    audio = np.stack([left, right]).astype(np.float32)
    gated = karafan_silent_v13(audio, SR, SILENT_THRESHOLD_DB)
    assert gated.dtype == np.float32

    # Levels of every 441 window, in float64 (the port measures in float64; KaraFan measured the float32 array).
    w = int(0.010 * SR)
    levels = [
        float(np.max(amplitude_to_db(librosa_rms(audio[:, i : i + w].astype(np.float64), w, w))))
        for i in range(0, length, w)
    ]
    margin = min(abs(lv - SILENT_THRESHOLD_DB) for lv in levels)
    assert margin > 1.0, f'a window level is within {margin} dB of the threshold: golden would be fragile'

    return {
        'length': length,
        'seedLeft': 5,
        'seedRight': 6,
        'envelope': envelope_segments(),  # [start sample, end sample, float32 amplitude]
        'thresholdDb': SILENT_THRESHOLD_DB,
        'levelsDb': levels,
        'runsLeft': classify(audio[0], gated[0]),
        'runsRight': classify(audio[1], gated[1]),
        'sumLeft': float(np.sum(gated[0].astype(np.float64))),
        'sumRight': float(np.sum(gated[1].astype(np.float64))),
        'sumSquaresLeft': float(np.sum(gated[0].astype(np.float64) ** 2)),
        'sumSquaresRight': float(np.sum(gated[1].astype(np.float64) ** 2)),
    }


def main():
    golden = {
        'generator': 'tests/reference/dsp_reference.py',
        'versions': {'numpy': np.__version__, 'scipy': __import__('scipy').__version__},
        'mulberry32Check': {'seed': 1, 'first': [int(v) for v in mulberry32(1, 4)]},
        'polyphaseFilter54': polyphase_filter(),
        'resample': resample_cases(),
        'crossover': crossover_case(),
        'normalize': normalize_case(),
        'silent': silent_case(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'golden', 'dsp.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(golden, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    main()
