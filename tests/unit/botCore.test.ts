/**
 * The platform-neutral bot core: delivery planning against platform limits, status and stats text, link
 * extraction. Expected sizes are worked out here by hand from the documented rates, not from the module's tables.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { FinalStem } from '../../src/pipeline/recipe/outputNames.js';
import { findAudioLink } from '../../src/bots/core/findLink.js';
import {
  DISCORD_DEFAULT_LIMITS,
  TELEGRAM_CLOUD_LIMITS,
  TELEGRAM_LOCAL_LIMITS,
  discordLimits,
  estimateBytes,
  planDelivery,
  uploadBudget,
  type StemToDeliver,
} from '../../src/bots/core/planDelivery.js';
import {
  formatClock,
  formatDuration,
  progressBar,
  statsBlock,
  statusLine,
} from '../../src/bots/core/statusText.js';

const ALL: readonly FinalStem[] = ['vocals', 'music', 'bleed'];
const stems = (durationS: number, names: readonly FinalStem[] = ALL): StemToDeliver[] =>
  names.map((stem) => ({ stem, durationS }));

// Independent arithmetic: rates in bytes per second, overheads as documented in planDelivery.ts.
const KIB16 = 16 * 1024;
const mp3 = (kbps: number, s: number) => Math.ceil(kbps * 125 * s * 1.01) + KIB16;
const opus = (kbps: number, s: number) => Math.ceil(kbps * 125 * s * 1.03) + KIB16;
const flac24 = (s: number) => Math.ceil((0.6 * 176_400 + 88_200) * s) + KIB16;
const wav32f = (s: number) => 352_800 * s + 128;
const TG_BUDGET = 47_500_000; // 50 MB × 0.95
const DISCORD_BUDGET = Math.floor(10 * 1024 * 1024 * 0.95); // 9 961 472

describe('platform limits', () => {
  it('states the documented numbers', () => {
    assert.equal(TELEGRAM_CLOUD_LIMITS.maxUploadBytes, 50_000_000);
    assert.equal(TELEGRAM_CLOUD_LIMITS.maxDownloadBytes, 20_000_000);
    assert.equal(TELEGRAM_CLOUD_LIMITS.minFilesPerAlbum, 2);
    assert.equal(TELEGRAM_CLOUD_LIMITS.maxFilesPerMessage, 10);
    assert.deepEqual(TELEGRAM_CLOUD_LIMITS.audioFormats, ['mp3']);
    assert.equal(TELEGRAM_LOCAL_LIMITS.maxUploadBytes, 2_000_000_000);
    assert.equal(TELEGRAM_LOCAL_LIMITS.maxDownloadBytes, null);
    assert.equal(DISCORD_DEFAULT_LIMITS.maxUploadBytes, 10_485_760);
    assert.equal(DISCORD_DEFAULT_LIMITS.maxFilesPerMessage, 10);
  });

  it('takes Discord’s attachmentSizeLimit when given', () => {
    assert.equal(discordLimits(52_428_800).maxUploadBytes, 52_428_800);
    assert.equal(discordLimits(undefined), DISCORD_DEFAULT_LIMITS);
    assert.equal(discordLimits(0), DISCORD_DEFAULT_LIMITS);
  });

  it('keeps a 5 % margin', () => {
    assert.equal(uploadBudget(TELEGRAM_CLOUD_LIMITS), TG_BUDGET);
    assert.equal(uploadBudget(DISCORD_DEFAULT_LIMITS), DISCORD_BUDGET);
  });
});

describe('estimateBytes', () => {
  it('matches the documented rates', () => {
    assert.equal(estimateBytes({ format: 'wav16' }, 240), 176_400 * 240 + 128);
    assert.equal(estimateBytes({ format: 'wav' }, 240), 84_672_128);
    assert.equal(estimateBytes({ format: 'flac' }, 240), flac24(240));
    assert.equal(estimateBytes({ format: 'mp3' }, 240), mp3(320, 240));
    assert.equal(estimateBytes({ format: 'opus' }, 240), opus(160, 240));
    assert.equal(estimateBytes({ format: 'opus', bitrateKbps: 96 }, 600), opus(96, 600));
    assert.throws(() => estimateBytes({ format: 'mp3' }, -1), RangeError);
    assert.throws(() => estimateBytes({ format: 'mp3' }, Number.NaN), RangeError);
  });
});

describe('planDelivery', () => {
  it('4 min FLAC on Telegram cloud: 24-bit FLAC ≈ 46.6 MB fits the 47.5 MB budget, sent as documents', () => {
    assert.ok(flac24(240) <= TG_BUDGET, `arithmetic: ${flac24(240)} ≤ ${TG_BUDGET}`);
    const plan = planDelivery({ stems: stems(240), format: 'flac', limits: TELEGRAM_CLOUD_LIMITS });
    assert.equal(plan.kind, 'native');
    if (plan.kind !== 'native') return;
    assert.equal(plan.format, 'flac');
    assert.equal(plan.bitrateKbps, undefined);
    assert.equal(plan.playable, false, 'sendAudio takes only MP3');
    assert.equal(plan.downgradedFrom, null);
    assert.equal(plan.largestBytes, flac24(240));
    assert.equal(plan.files.length, 3);
    assert.deepEqual(
      plan.groups.map((g) => g.map((f) => f.stem)),
      [['vocals', 'music', 'bleed']],
    );
  });

  it('4 min 10 s FLAC on Telegram cloud does not fit and falls to MP3 320', () => {
    assert.ok(flac24(250) > TG_BUDGET, `arithmetic: ${flac24(250)} > ${TG_BUDGET}`);
    const plan = planDelivery({ stems: stems(250), format: 'flac', limits: TELEGRAM_CLOUD_LIMITS });
    assert.equal(plan.kind, 'native');
    if (plan.kind !== 'native') return;
    assert.equal(plan.format, 'mp3');
    assert.equal(plan.bitrateKbps, 320);
    assert.equal(plan.playable, true);
    assert.equal(plan.downgradedFrom, 'flac');
  });

  it('4 min WAV-32f on Telegram cloud (84.7 MB) falls to MP3 320 (≈ 9.7 MB)', () => {
    assert.equal(wav32f(240), 84_672_128);
    const plan = planDelivery({ stems: stems(240), format: 'wav', limits: TELEGRAM_CLOUD_LIMITS });
    assert.equal(plan.kind, 'native');
    if (plan.kind !== 'native') return;
    assert.equal(plan.format, 'mp3');
    assert.equal(plan.bitrateKbps, 320);
    assert.equal(plan.largestBytes, mp3(320, 240));
    assert.equal(plan.downgradedFrom, 'wav');
  });

  it('10 min on Discord 10 MiB: MP3 320 and 192 are too big, MP3 128 (≈ 9.7 MB) fits', () => {
    assert.ok(mp3(320, 600) > DISCORD_BUDGET, 'arithmetic: MP3 320 over');
    assert.ok(mp3(192, 600) > DISCORD_BUDGET, 'arithmetic: MP3 192 over');
    assert.ok(mp3(128, 600) <= DISCORD_BUDGET, `arithmetic: MP3 128 ${mp3(128, 600)} ≤ ${DISCORD_BUDGET}`);
    const plan = planDelivery({ stems: stems(600), format: 'mp3', limits: DISCORD_DEFAULT_LIMITS });
    assert.equal(plan.kind, 'native');
    if (plan.kind !== 'native') return;
    assert.equal(plan.format, 'mp3');
    assert.equal(plan.bitrateKbps, 128);
    assert.equal(plan.downgradedFrom, 'mp3');
  });

  it('10 min 30 s on Discord: MP3 128 is over, Opus 96 (≈ 7.8 MB) fits', () => {
    assert.ok(mp3(128, 630) > DISCORD_BUDGET, 'arithmetic: MP3 128 over');
    assert.ok(opus(96, 630) <= DISCORD_BUDGET, 'arithmetic: Opus 96 fits');
    const plan = planDelivery({ stems: stems(630), format: 'flac', limits: DISCORD_DEFAULT_LIMITS });
    assert.equal(plan.kind, 'native');
    if (plan.kind !== 'native') return;
    assert.equal(plan.format, 'opus');
    assert.equal(plan.bitrateKbps, 96);
    assert.equal(plan.playable, true);
  });

  it('60 min on Discord: a link, no preview (Opus 64 alone is ≈ 29.7 MB)', () => {
    assert.ok(opus(64, 3600) > DISCORD_BUDGET, 'arithmetic: Opus 64 over');
    const plan = planDelivery({ stems: stems(3600), format: 'flac', limits: DISCORD_DEFAULT_LIMITS });
    assert.equal(plan.kind, 'link');
    if (plan.kind !== 'link') return;
    assert.equal(plan.format, 'flac');
    assert.equal(plan.preview, null);
    assert.match(plan.reason, /10 MiB/);
    assert.match(plan.reason, /link to the FLAC files/);
  });

  it('50 min on Telegram cloud: MP3 128 is over, so a link with MP3 96 previews', () => {
    assert.ok(mp3(128, 3000) > TG_BUDGET, 'arithmetic: MP3 128 over');
    assert.ok(mp3(96, 3000) <= TG_BUDGET, 'arithmetic: MP3 96 fits');
    const plan = planDelivery({ stems: stems(3000), format: 'wav16', limits: TELEGRAM_CLOUD_LIMITS });
    assert.equal(plan.kind, 'link');
    if (plan.kind !== 'link') return;
    assert.equal(plan.format, 'wav16');
    assert.deepEqual(plan.preview, { format: 'mp3', bitrateKbps: 96, largestBytes: mp3(96, 3000) });
    assert.match(plan.reason, /MP3 96 kbit\/s previews/);
  });

  it('never steps to Opus on Telegram, where it does not play', () => {
    // Opus 96 would fit (≈ 37 MB) but is not in Telegram's audioFormats.
    assert.ok(opus(96, 3000) <= TG_BUDGET, 'arithmetic: Opus 96 would fit');
    const plan = planDelivery({ stems: stems(3000), format: 'mp3', limits: TELEGRAM_CLOUD_LIMITS });
    assert.equal(plan.kind, 'link');
  });

  it('a requested Opus goes as is on Telegram, as a document', () => {
    const plan = planDelivery({ stems: stems(240), format: 'opus', limits: TELEGRAM_CLOUD_LIMITS });
    assert.equal(plan.kind, 'native');
    if (plan.kind !== 'native') return;
    assert.equal(plan.format, 'opus');
    assert.equal(plan.bitrateKbps, 160);
    assert.equal(plan.playable, false);
  });

  it('a local Bot API server takes WAV-32f', () => {
    const plan = planDelivery({ stems: stems(240), format: 'wav', limits: TELEGRAM_LOCAL_LIMITS });
    assert.equal(plan.kind, 'native');
    if (plan.kind !== 'native') return;
    assert.equal(plan.format, 'wav');
    assert.equal(plan.downgradedFrom, null);
  });

  it('a file of exactly the budget fits, one byte more does not', () => {
    const at = (bytes: number) =>
      planDelivery({
        stems: ALL.map((stem) => ({
          stem,
          durationS: 240,
          bytesByFormat: { mp3: stem === 'music' ? bytes : 1 },
        })),
        format: 'mp3',
        limits: DISCORD_DEFAULT_LIMITS,
      });
    const fits = at(DISCORD_BUDGET);
    assert.equal(fits.kind, 'native');
    if (fits.kind === 'native') {
      assert.equal(fits.bitrateKbps, 320);
      assert.equal(fits.largestBytes, DISCORD_BUDGET);
    }
    const over = at(DISCORD_BUDGET + 1);
    assert.equal(over.kind, 'native');
    if (over.kind === 'native') {
      assert.equal(over.bitrateKbps, 192, 'measured MP3 320 is over, the estimate for 192 is used');
      assert.equal(over.largestBytes, mp3(192, 240));
    }
  });

  it('measured sizes apply only to the encoder default bitrate', () => {
    const plan = planDelivery({
      stems: [{ stem: 'vocals', durationS: 60, bytesByFormat: { mp3: 999_999_999 } }],
      format: 'wav',
      limits: DISCORD_DEFAULT_LIMITS,
    });
    assert.equal(plan.kind, 'native');
    if (plan.kind === 'native') assert.equal(plan.bitrateKbps, 192);
  });

  it('groups files by maxFilesPerMessage', () => {
    const plan = planDelivery({
      stems: stems(60),
      format: 'mp3',
      limits: { ...DISCORD_DEFAULT_LIMITS, maxFilesPerMessage: 2 },
    });
    assert.equal(plan.kind, 'native');
    if (plan.kind !== 'native') return;
    assert.deepEqual(
      plan.groups.map((g) => g.map((f) => f.stem)),
      [['vocals', 'music'], ['bleed']],
    );
  });
});

describe('statusLine', () => {
  const p = (
    stage: Parameters<typeof statusLine>[0]['stage'],
    pct: number,
    etaS: number | null,
    queuePosition = 0,
  ) => statusLine({ stage, pct, etaS, queuePosition });

  it('words every stage', () => {
    assert.equal(p('queued', 0, 120, 3), '⏳ In queue: position 3, starts in about 2 min');
    assert.equal(p('queued', 0, null, 1), '⏳ In queue: position 1');
    assert.equal(p('queued', 0, null, 0), '⏳ In queue');
    assert.equal(p('queued', 0, 0, 2), '⏳ In queue: position 2, starts soon');
    assert.equal(p('download', 3.7, null), '🎧 Downloading… 3 %');
    assert.equal(p('decode', 8, null), '🎧 Reading the audio… 8 %');
    assert.equal(p('separate', 42, 65), '✂️ Separating… 42 % · about 1 min left');
    assert.equal(p('encode', 95, null), '📦 Encoding…');
    assert.equal(p('encode', 95, 20), '📦 Encoding… · about 20 s left');
    assert.equal(p('deliver', 99, null), '📤 Sending…');
  });

  it('adds a bar when asked', () => {
    assert.equal(
      statusLine({ stage: 'separate', pct: 50, etaS: null, queuePosition: 0 }, { barWidth: 4 }),
      '✂️ Separating… ██░░ 50 %',
    );
  });
});

describe('formatDuration and formatClock', () => {
  it('handles the edges', () => {
    assert.equal(formatDuration(0), '0 s');
    assert.equal(formatDuration(45), '45 s');
    assert.equal(formatDuration(59), '59 s');
    assert.equal(formatDuration(59.6), '1 min');
    assert.equal(formatDuration(60), '1 min');
    assert.equal(formatDuration(90), '2 min');
    assert.equal(formatDuration(3599), '1 h');
    assert.equal(formatDuration(3600), '1 h');
    assert.equal(formatDuration(3661), '1 h 1 min');
    assert.equal(formatDuration(3900), '1 h 5 min');
    assert.equal(formatDuration(-5), '0 s');
    assert.equal(formatDuration(Number.POSITIVE_INFINITY), 'a while');
  });

  it('formats clocks', () => {
    assert.equal(formatClock(7), '0:07');
    assert.equal(formatClock(245), '4:05');
    assert.equal(formatClock(3725), '1:02:05');
  });
});

describe('progressBar', () => {
  it('fills in eighths and keeps its width', () => {
    assert.equal(progressBar(0, 5), '░░░░░');
    assert.equal(progressBar(100, 5), '█████');
    assert.equal(progressBar(50, 4), '██░░');
    assert.equal(progressBar(12.5, 1), '▏');
    assert.equal(progressBar(150, 3), '███');
    assert.equal(progressBar(-3, 3), '░░░');
    for (let pct = 0; pct <= 100; pct += 7) {
      assert.equal([...progressBar(pct, 10)].length, 10, `width at ${pct} %`);
    }
  });
});

describe('statsBlock', () => {
  const stats = {
    durationS: 245,
    processingS: 38,
    realTimeFactor: 38 / 245,
    engine: 'mdx',
    device: 'cuda',
    preset: 'best',
    cacheHits: [] as string[],
    files: [],
  };

  it('writes engine, speed and cache hits', () => {
    assert.equal(
      statsBlock(stats),
      'Engine: mdx on cuda · preset best\n4:05 of audio in 38 s (0.16× real time)',
    );
    assert.equal(
      statsBlock({ ...stats, cacheHits: ['music', 'vocals'] }),
      'Engine: mdx on cuda · preset best\n4:05 of audio in 38 s (0.16× real time)\nFrom cache: music, vocals',
    );
  });
});

describe('findAudioLink', () => {
  it('finds nothing in plain text', () => {
    assert.equal(findAudioLink('no link here'), null);
    assert.equal(findAudioLink(''), null);
    assert.equal(findAudioLink('https:// alone'), null);
  });

  it('takes the first of several', () => {
    assert.equal(findAudioLink('a https://a.example/1 then http://b.example/2'), 'https://a.example/1');
  });

  it('drops trailing punctuation but keeps balanced parentheses', () => {
    assert.equal(findAudioLink('see https://x.example/song.mp3.'), 'https://x.example/song.mp3');
    assert.equal(findAudioLink('(https://x.example/a)'), 'https://x.example/a');
    assert.equal(findAudioLink('wow https://x.example/a?b=1!?'), 'https://x.example/a?b=1');
    assert.equal(findAudioLink('https://x.example/a,'), 'https://x.example/a');
    assert.equal(
      findAudioLink('https://en.wikipedia.org/wiki/Song_(band)'),
      'https://en.wikipedia.org/wiki/Song_(band)',
    );
  });

  it('reads angle brackets and Markdown links', () => {
    assert.equal(findAudioLink('<https://x.example/a>'), 'https://x.example/a');
    assert.equal(findAudioLink('[my song](https://x.example/a)'), 'https://x.example/a');
    assert.equal(findAudioLink('[https://shown.example](https://real.example/a)'), 'https://real.example/a');
  });

  it('ignores other schemes and words that merely contain http', () => {
    assert.equal(findAudioLink('ftp://x.example/a.mp3'), null);
    assert.equal(findAudioLink('ftp://x.example/a and https://y.example/b'), 'https://y.example/b');
    assert.equal(findAudioLink('[x](ftp://x.example/a)'), null);
    assert.equal(findAudioLink('svn+https://x.example/a'), null);
    assert.equal(findAudioLink('javascript:alert(1)'), null);
  });

  it('accepts an upper-case scheme and normalises it', () => {
    assert.equal(findAudioLink('HTTPS://X.Example/Song'), 'https://x.example/Song');
  });
});
