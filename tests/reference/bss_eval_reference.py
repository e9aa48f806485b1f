#!/usr/bin/env python3
"""Golden values for tests/unit/bssEval.test.ts: BSS Eval v4 as museval computes it, in plain numpy/scipy.

Produced with Python 3, numpy 2.4.6 and scipy 1.17.1:

    python3 tests/reference/bss_eval_reference.py      # writes tests/fixtures/golden/bssEval.json
    npx prettier --write tests/fixtures/golden/bssEval.json

museval itself is not installed here (no PyPI access), so this file re-states its algorithm step by step, each
function naming the museval function it follows (sigsep/sigsep-mus-eval, museval/metrics.py, the backend version,
and museval/__init__.py `evaluate` / `pad_or_truncate`, museval/aggregate.py `TrackStore`). The call being
reproduced is

    museval.evaluate(references, estimates, win=44100, hop=44100, mode='v4', padding=True)

i.e. metrics.bss_eval(..., compute_permutation=False, framewise_filters=False, bsseval_sources_version=False,
filters_len=512): the images version (with ISR), distortion filters estimated once on the whole signals, no
permutation search, followed by TrackStore's per-track aggregation (inf -> NaN, then nanmedian over frames).

Inputs are not stored: they come from mulberry32 (the PRNG of tests/reference/dsp_reference.py, reimplemented bit
for bit in tests/support/dspGolden.ts) and are shaped with float64 +, * and / only (IEEE-exact in both languages),
then rounded to float32, so both languages start from identical samples.
"""

import json
import math
import os

import numpy as np
import scipy.fftpack
from scipy.linalg import toeplitz
from scipy.signal import fftconvolve

# the same deterministic inputs as the DSP goldens (mulberry32, exact float32 noise)
from dsp_reference import noise as noise32

SR = 44100
FILTERS_LEN = 512  # museval bss_eval default, also used by evaluate()


# ---------------------------------------------------------------------------------------------------------------
# museval/metrics.py, step by step


def any_source_silent(sources):
    """_any_source_silent: a source is silent when the sum over its channels is 0 at every sample."""
    return bool(np.any(np.all(np.sum(sources, axis=tuple(range(2, sources.ndim))) == 0, axis=1)))


def zeropad(sig, n, axis=0):
    """_zeropad: n zeros appended along `axis` (result in float64)."""
    sig = np.moveaxis(sig, axis, 0)
    out = np.zeros((sig.shape[0] + n,) + sig.shape[1:])
    out[: sig.shape[0], ...] = sig
    return np.moveaxis(out, 0, axis)


def fft_size(nsampl, filters_len):
    """The n_fft of _compute_reference_correlations / _compute_projection_filters (backend version)."""
    return int(2 ** np.ceil(np.log10(nsampl + filters_len - 1.0) / np.log10(2)))


def reference_correlations(reference_sources, filters_len):
    """_compute_reference_correlations: G[j, i, c2, c1] (filters_len x filters_len Toeplitz blocks) holds the
    inner products of the references delayed by 0..filters_len-1 samples; sf are their spectra.
    reference_sources: (nsrc, nsampl, nchan)."""
    nsrc, nsampl, nchan = reference_sources.shape
    refs = np.moveaxis(reference_sources, 1, 2)
    refs = zeropad(refs, filters_len - 1, axis=2)
    sf = scipy.fftpack.fft(refs, n=fft_size(nsampl, filters_len), axis=2)
    G = np.zeros((nsrc, nsrc, nchan, nchan, filters_len, filters_len))
    pairs = [(i, c) for i in range(nsrc) for c in range(nchan)]
    for a in range(len(pairs)):  # itertools.combinations_with_replacement(pairs, 2)
        for b in range(a, len(pairs)):
            (i, c1), (j, c2) = pairs[a], pairs[b]
            ssf = np.real(scipy.fftpack.ifft(sf[j, c2] * np.conj(sf[i, c1])))
            ss = toeplitz(np.hstack((ssf[0], ssf[-1:-filters_len:-1])), r=ssf[:filters_len])
            G[j, i, c2, c1] = ss
            G[i, j, c1, c2] = ss.T
    return G, sf


def reshape_G(G):
    """_reshape_G: (nsrc, nsrc, nchan, nchan, L, L) -> square matrix indexed (src, chan, lag)."""
    G = np.moveaxis(G, (1, 3), (3, 4))
    nsrc, nchan, filters_len = G.shape[0:3]
    return np.reshape(G, (nsrc * nchan * filters_len, nsrc * nchan * filters_len))


def projection_filters(G, sf, estimated_source):
    """_compute_projection_filters: least-squares filters C (nsrc, nchan, L, nchan) such that
    sum_j,cj C[j, cj, :, c] * ref[j, :, cj] best fits estimate channel c; solves (G + eps I) C = D."""
    eps = np.finfo(float).eps
    nsampl, nchan = estimated_source.shape
    if G.ndim == 4:  # one source only
        G = G[None, None, ...]
        sf = sf[None, ...]
    nsrc = G.shape[0]
    filters_len = G.shape[-1]
    est = zeropad(estimated_source.T, filters_len - 1, axis=1)
    sef = scipy.fftpack.fft(est, n=fft_size(nsampl, filters_len))
    D = np.zeros((nsrc, nchan, filters_len, nchan))
    for j in range(nsrc):
        for cj in range(nchan):
            for c in range(nchan):
                ssef = np.real(scipy.fftpack.ifft(sf[j, cj] * np.conj(sef[c])))
                D[j, cj, :, c] = np.hstack((ssef[0], ssef[-1:-filters_len:-1]))
    D = D.reshape(nsrc * nchan * filters_len, nchan)
    Gm = reshape_G(G)
    C = np.linalg.solve(Gm + eps * np.eye(Gm.shape[0]), D).reshape(nsrc, nchan, filters_len, nchan)
    return C[0] if nsrc == 1 else C


def project(reference_sources, C):
    """_project: filter the references with C and sum; output (nsampl + L - 1, nchan)."""
    if reference_sources.ndim == 2:
        reference_sources = reference_sources[None, ...]
        C = C[None, ...]
    nsrc, nsampl, nchan = reference_sources.shape
    filters_len = C.shape[-2]
    refs = zeropad(reference_sources, filters_len - 1, axis=1)
    sproj = np.zeros((nchan, nsampl + filters_len - 1))
    for j in range(nsrc):
        for cj in range(nchan):
            for c in range(nchan):
                sproj[c] += fftconvolve(C[j, cj, :, c], refs[j, :, cj])[: nsampl + filters_len - 1]
    return sproj.T


def decompose(reference_sources, estimated_source, j, C, Cj):
    """_bss_decomp_mtifilt: true image, spatial distortion, interference and artifacts of one estimate."""
    filters_len = Cj.shape[-2]
    s_true = zeropad(reference_sources[j], filters_len - 1, axis=0)
    e_spat = project(reference_sources[j], Cj) - s_true
    e_interf = project(reference_sources, C) - s_true - e_spat
    e_artif = -s_true - e_spat - e_interf
    e_artif[: estimated_source.shape[0], :] += estimated_source
    return s_true, e_spat, e_interf, e_artif


def safe_db(num, den):
    """_safe_db: +inf when the error energy is exactly 0."""
    if den == 0:
        return np.inf
    return 10 * np.log10(num / den)


def criteria(s_true, e_spat, e_interf, e_artif):
    """_bss_crit, images version (bsseval_sources_version=False): (SDR, ISR, SIR, SAR) in dB."""
    energy_s_true = np.sum(s_true**2)
    sdr = safe_db(energy_s_true, np.sum((e_spat + e_interf + e_artif) ** 2))
    isr = safe_db(energy_s_true, np.sum(e_spat**2))
    sir = safe_db(np.sum((s_true + e_spat) ** 2), np.sum(e_interf**2))
    sar = safe_db(np.sum((s_true + e_spat + e_interf) ** 2), np.sum(e_artif**2))
    return sdr, isr, sir, sar


def frames(window, hop, length):
    """Framing: nwin = floor((length - window + hop) / hop) windows when window < length, else one; the last
    partial window is dropped."""
    nwin = int(np.floor((length - window + hop) / hop)) if window < length else 1
    return [slice(t * hop, min(t * hop + window, length)) for t in range(nwin)]


def bss_eval_v4(reference_sources, estimated_sources, window, hop, filters_len=FILTERS_LEN):
    """bss_eval(compute_permutation=False, framewise_filters=False, bsseval_sources_version=False).
    Returns sdr, isr, sir, sar, each (nsrc, nwin)."""
    assert reference_sources.shape == estimated_sources.shape
    if any_source_silent(reference_sources) or any_source_silent(estimated_sources):
        raise ValueError('silent source')  # museval validate()
    nsrc, nsampl, nchan = estimated_sources.shape
    # filters once, on the whole signals (compute_GsfC, compute_Cj)
    G, sf = reference_correlations(reference_sources, filters_len)
    C = np.zeros((nsrc, nsrc, nchan, filters_len, nchan))
    for jtrue in range(nsrc):
        C[jtrue] = projection_filters(G, sf, estimated_sources[jtrue])
    Cj = np.zeros((nsrc, nsrc, 1, nchan, filters_len, nchan))
    for jtrue in range(nsrc):
        Cj[jtrue, jtrue] = projection_filters(G[jtrue, jtrue], sf[jtrue], estimated_sources[jtrue])
    wins = frames(window, hop, nsampl)
    out = np.full((4, nsrc, len(wins)), np.nan)
    for t, win in enumerate(wins):
        if any_source_silent(reference_sources[:, win]) or any_source_silent(estimated_sources[:, win]):
            continue  # every target of this frame is NaN
        for j in range(nsrc):
            parts = decompose(reference_sources[:, win], estimated_sources[j, win], j, C[j], Cj[j, j, 0])
            out[:, j, t] = criteria(*parts)
    return out[0], out[1], out[2], out[3]


def pad_or_truncate(references, estimates):
    """museval/__init__.py pad_or_truncate: estimates cut or zero-padded at the end to the references' length."""
    n = references.shape[1]
    if estimates.shape[1] >= n:
        return references, estimates[:, :n, :]
    return references, np.pad(estimates, [(0, 0), (0, n - estimates.shape[1]), (0, 0)], mode='constant')


def track_median(values):
    """aggregate.py TrackStore: _q turns +-inf into NaN, then frames_agg = np.nanmedian."""
    v = np.array([np.nan if np.isinf(x) else x for x in values], dtype=np.float64)
    return float(np.nanmedian(v)) if np.any(~np.isnan(v)) else float('nan')


def global_sdr(reference, estimate):
    """src/pipeline/analysis/sdr.ts globalSdr: 10 log10(sum ref^2 / sum (ref - est)^2) over both channels."""
    r = reference.astype(np.float64)
    e = estimate.astype(np.float64)
    return float(10 * np.log10(np.sum(r**2) / np.sum((r - e) ** 2)))


# ---------------------------------------------------------------------------------------------------------------
# Deterministic inputs


def noise(seed, count):
    """dsp_reference's noise in float64 (its values are exact in float32; the math here runs in float64)."""
    return noise32(seed, count).astype(np.float64)


def one_pole(x, a):
    """y[n] = a*y[n-1] + (1-a)*x[n], y[-1] = 0, in float64 (a plain loop: same operations as the TS test)."""
    y = np.empty_like(x)
    prev = 0.0
    b = 1.0 - a
    for i in range(len(x)):
        prev = a * prev + b * x[i]
        y[i] = prev
    return y


def fir(x, taps):
    """y[n] = sum_k taps[k] * x[n-k] (x[<0] = 0), accumulated in k order."""
    y = np.zeros_like(x)
    for k, h in enumerate(taps):
        shifted = np.zeros_like(x)
        shifted[k:] = x[: len(x) - k]
        y = y + h * shifted
    return y


def envelope(n, points):
    """Piecewise-linear gain through (sample, gain) points, constant outside (float64 + * / only)."""
    g = np.empty(n)
    for i in range(n):
        if i <= points[0][0]:
            g[i] = points[0][1]
        elif i >= points[-1][0]:
            g[i] = points[-1][1]
        else:
            k = 0
            while points[k + 1][0] < i:
                k += 1
            (i0, g0), (i1, g1) = points[k], points[k + 1]
            g[i] = g0 + (g1 - g0) * (i - i0) / (i1 - i0)
    return g


def f32(x):
    return np.asarray(x, dtype=np.float64).astype(np.float32)


# The constructed case: 2 stereo targets of 3.5 s (3 frames; the last half second is dropped by the framing, but
# feeds the filters), references low-passed and high-passed noise under slow envelopes, the 2nd second silent in
# reference 0 (that frame is NaN for both targets), estimates = filtered reference + filtered leakage of the other
# source + noise, 1500 samples shorter than the references (pad_or_truncate pads them).
CASE = {
    'length': 154350,
    'estimateLength': 152850,
    'silentFrom': 44100,
    'silentTo': 88200,
    'seeds': {'ref0': [11, 12], 'ref1': [21, 22], 'noise0': [31, 32], 'noise1': [41, 42]},
    'ref0': {'pole': 0.9, 'envelope': [[0, 0.5], [60000, 1.0], [154349, 0.25]]},
    'ref1': {'taps': [0.5, -0.5], 'envelope': [[0, 0.2], [100000, 0.4], [154349, 0.3]]},
    'est0': {'self': [0.9, 0.05, 0.02], 'leak': [0.15, 0.1], 'noise': 0.02},
    'est1': {'self': [1.1, -0.1], 'leak': [0.05, 0.05, 0.05], 'noise': 0.01},
}


def case_signals(case=CASE):
    """(references, estimates), each a list of two (n, 2) float32 arrays."""
    n = case['length']
    s = case['seeds']
    ref0, ref1 = [], []
    for c in range(2):
        g0 = envelope(n, case['ref0']['envelope'])
        r0 = one_pole(noise(s['ref0'][c], n), case['ref0']['pole']) * g0
        r0[case['silentFrom'] : case['silentTo']] = 0.0
        ref0.append(f32(r0))
        g1 = envelope(n, case['ref1']['envelope'])
        ref1.append(f32(fir(noise(s['ref1'][c], n), case['ref1']['taps']) * g1))
    m = case['estimateLength']
    est0, est1 = [], []
    for c in range(2):
        r0 = ref0[c].astype(np.float64)[:m]
        r1 = ref1[c].astype(np.float64)[:m]
        e0 = fir(r0, case['est0']['self']) + fir(r1, case['est0']['leak'])
        e0 = e0 + case['est0']['noise'] * noise(s['noise0'][c], m)
        e1 = fir(r1, case['est1']['self']) + fir(r0, case['est1']['leak'])
        e1 = e1 + case['est1']['noise'] * noise(s['noise1'][c], m)
        est0.append(f32(e0))
        est1.append(f32(e1))
    stack = lambda chans: np.stack(chans, axis=1)  # noqa: E731
    return [stack(ref0), stack(ref1)], [stack(est0), stack(est1)]


def nullable(v):
    return None if (isinstance(v, float) and math.isnan(v)) else float(v)


def evaluate_case(case=CASE):
    references, estimates = case_signals(case)
    refs = np.array(references)
    ests = np.array(estimates)
    refs, ests = pad_or_truncate(refs, ests)
    sdr, isr, sir, sar = bss_eval_v4(refs, ests, window=SR, hop=SR)
    targets = []
    for j in range(refs.shape[0]):
        per = {'SDR': sdr[j], 'SIR': sir[j], 'SAR': sar[j], 'ISR': isr[j]}
        targets.append(
            {
                'frames': {k: [nullable(float(x)) for x in v] for k, v in per.items()},
                'median': {k: nullable(track_median(v)) for k, v in per.items()},
                'globalSDR': global_sdr(refs[j], ests[j]),
            }
        )
    return targets


def main():
    golden = {
        'generator': 'tests/reference/bss_eval_reference.py',
        'versions': {'numpy': np.__version__, 'scipy': __import__('scipy').__version__},
        'windowSamples': SR,
        'hopSamples': SR,
        'filterLength': FILTERS_LEN,
        'case': CASE,
        'targets': evaluate_case(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'golden', 'bssEval.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(golden, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    main()
