/**
 * What the Telegram bot takes in: which song a message carries, the size and length checks before queueing,
 * settings typed after a command, and the settings keyboard. Messages are built by hand as Telegram sends them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Message } from 'grammy/types';

import { parseMixArgs } from '../../src/bots/core/mixArgs.js';
import { commandArguments } from '../../src/bots/telegram/commandFilter.js';
import { parseSettingsArgs } from '../../src/bots/core/settingsArgs.js';
import { describeSettings } from '../../src/bots/core/settingsNames.js';
import { checkSongLimits, type SongLimits } from '../../src/bots/core/songLimits.js';
import { pickSong } from '../../src/bots/telegram/incomingSong.js';
import {
  applySettingsChange,
  parseSettingsCallback,
  settingsKeyboard,
  type SettingsChange,
} from '../../src/bots/telegram/settingsKeyboard.js';
import type { SeparationSettings } from '../../src/queue/jobSchema.js';

const message = (fields: Record<string, unknown>): Message =>
  ({
    message_id: 7,
    date: 1_700_000_000,
    chat: { id: 1, type: 'private', first_name: 'Ann' },
    ...fields,
  }) as Message;
const file = (id: string, extra: Record<string, unknown> = {}) => ({
  file_id: `id-${id}`,
  file_unique_id: `uniq-${id}`,
  ...extra,
});
const SEND = 'send a song as an audio file, a voice note, a video or a link.';

describe('pickSong: files', () => {
  it('takes an audio file with everything Telegram says about it', () => {
    const audio = file('a', {
      duration: 245,
      performer: 'Nina Simone',
      title: 'Sinnerman',
      file_name: 'sinnerman.mp3',
      mime_type: 'audio/mpeg',
      file_size: 9_800_000,
    });
    assert.deepEqual(pickSong(message({ audio })), {
      kind: 'file',
      song: {
        kind: 'audio',
        fileId: 'id-a',
        fileUniqueId: 'uniq-a',
        fileName: 'sinnerman.mp3',
        sizeBytes: 9_800_000,
        durationS: 245,
        mimeType: 'audio/mpeg',
        title: 'Sinnerman',
        performer: 'Nina Simone',
      },
    });
  });

  it('leaves out what Telegram did not say', () => {
    assert.deepEqual(pickSong(message({ audio: file('b', { duration: 3 }) })), {
      kind: 'file',
      song: { kind: 'audio', fileId: 'id-b', fileUniqueId: 'uniq-b', durationS: 3 },
    });
  });

  it('takes a voice note, which has no file name', () => {
    const voice = file('v', { duration: 12, mime_type: 'audio/ogg', file_size: 48_000 });
    assert.deepEqual(pickSong(message({ voice })), {
      kind: 'file',
      song: {
        kind: 'voice',
        fileId: 'id-v',
        fileUniqueId: 'uniq-v',
        sizeBytes: 48_000,
        durationS: 12,
        mimeType: 'audio/ogg',
      },
    });
  });

  it('takes a video and a video note', () => {
    const video = file('m', {
      width: 1280,
      height: 720,
      duration: 200,
      file_name: 'live.mp4',
      mime_type: 'video/mp4',
      file_size: 18_000_000,
    });
    assert.deepEqual(pickSong(message({ video })), {
      kind: 'file',
      song: {
        kind: 'video',
        fileId: 'id-m',
        fileUniqueId: 'uniq-m',
        fileName: 'live.mp4',
        sizeBytes: 18_000_000,
        durationS: 200,
        mimeType: 'video/mp4',
      },
    });
    const note = file('n', { length: 384, duration: 41, file_size: 2_000_000 });
    assert.deepEqual(pickSong(message({ video_note: note })), {
      kind: 'file',
      song: {
        kind: 'video_note',
        fileId: 'id-n',
        fileUniqueId: 'uniq-n',
        sizeBytes: 2_000_000,
        durationS: 41,
      },
    });
  });

  it('takes documents that are audio or video by MIME type', () => {
    for (const mime of ['audio/flac', 'audio/x-wav', 'video/webm', 'application/ogg', 'AUDIO/MPEG']) {
      const document = file('d', { file_name: 'whatever.bin', mime_type: mime, file_size: 5 });
      assert.deepEqual(
        pickSong(message({ document })),
        {
          kind: 'file',
          song: {
            kind: 'document',
            fileId: 'id-d',
            fileUniqueId: 'uniq-d',
            fileName: 'whatever.bin',
            sizeBytes: 5,
            mimeType: mime,
          },
        },
        mime,
      );
    }
  });

  it('takes documents by file name extension when the MIME type says nothing', () => {
    const byName = (file_name: string, mime_type?: string) =>
      pickSong(message({ document: file('e', mime_type ? { file_name, mime_type } : { file_name }) })).kind;
    assert.equal(byName('take 3.FLAC', 'application/octet-stream'), 'file');
    assert.equal(byName('demo.m4a'), 'file');
    assert.equal(byName('mix.final.opus'), 'file');
    assert.equal(byName('voice.amr', 'application/octet-stream'), 'file');
    assert.equal(byName('concert.mkv'), 'file');
    assert.equal(byName('archive.zip', 'application/octet-stream'), 'not-audio');
    assert.equal(byName('mp3'), 'not-audio', 'a name that is only the extension word has no extension');
    assert.equal(byName('song.mp3', 'text/plain'), 'not-audio', 'a real MIME type is believed over the name');
  });

  it('turns down other documents, naming the file and its type', () => {
    const refuse = (document: Record<string, unknown>) =>
      pickSong(message({ document: file('x', document) }));
    assert.deepEqual(refuse({ file_name: 'report.pdf', mime_type: 'application/pdf' }), {
      kind: 'not-audio',
      reason:
        '“report.pdf” (application/pdf) is not audio or video. ' +
        'Send a song as an audio file, a voice note, a video or a link.',
    });
    assert.deepEqual(refuse({ file_name: 'archive.zip', mime_type: 'application/octet-stream' }), {
      kind: 'not-audio',
      reason:
        '“archive.zip” (application/octet-stream) is not audio or video. ' +
        'Send a song as an audio file, a voice note, a video or a link.',
    });
    assert.deepEqual(refuse({}), {
      kind: 'not-audio',
      reason:
        'This file is not audio or video. Send a song as an audio file, a voice note, a video or a link.',
    });
  });

  it('turns down media without sound, and things that are not songs', () => {
    const photo = [file('p', { width: 90, height: 90 }), file('q', { width: 800, height: 800 })];
    assert.deepEqual(pickSong(message({ photo })), {
      kind: 'not-audio',
      reason: `A photo has no sound: ${SEND}`,
    });
    const sticker = file('s', {
      type: 'regular',
      width: 512,
      height: 512,
      is_animated: false,
      is_video: false,
    });
    assert.deepEqual(pickSong(message({ sticker })), {
      kind: 'not-audio',
      reason: `A sticker has no sound: ${SEND}`,
    });
    // Telegram sends a GIF with a `document` (video/mp4) beside the animation.
    const gif = file('g', {
      width: 320,
      height: 240,
      duration: 4,
      mime_type: 'video/mp4',
      file_name: 'cat.mp4',
    });
    assert.deepEqual(pickSong(message({ animation: gif, document: gif })), {
      kind: 'not-audio',
      reason: `A GIF has no sound: ${SEND}`,
    });
    assert.deepEqual(pickSong(message({ contact: { phone_number: '+100', first_name: 'Bo' } })), {
      kind: 'not-audio',
      reason: `A contact is not a song: ${SEND}`,
    });
    assert.deepEqual(pickSong(message({ location: { latitude: 1, longitude: 2 } })), {
      kind: 'not-audio',
      reason: `A location is not a song: ${SEND}`,
    });
    assert.equal(
      pickSong(message({ poll: { id: '1', question: 'Best song?', options: [] } })).kind,
      'not-audio',
    );
  });
});

describe('pickSong: links', () => {
  it('takes a URL in the text, normalised', () => {
    assert.deepEqual(pickSong(message({ text: 'split this please: HTTPS://Example.com/a.mp3.' })), {
      kind: 'link',
      url: 'https://example.com/a.mp3',
    });
  });

  it('takes a text_link target before a URL written in the text', () => {
    const text = 'this song or https://example.com/other.mp3';
    const entities = [{ type: 'text_link', offset: 0, length: 9, url: 'https://music.example/track?id=5' }];
    assert.deepEqual(pickSong(message({ text, entities })), {
      kind: 'link',
      url: 'https://music.example/track?id=5',
    });
  });

  it('skips text_link targets that are not http(s)', () => {
    const entities = [{ type: 'text_link', offset: 0, length: 4, url: 'tg://user?id=1' }];
    assert.deepEqual(pickSong(message({ text: 'Ann: nothing here', entities })), { kind: 'none' });
    assert.deepEqual(pickSong(message({ text: 'Ann: https://a.example/s', entities })), {
      kind: 'link',
      url: 'https://a.example/s',
    });
    assert.deepEqual(pickSong(message({ text: 'ftp://files.example/song.mp3' })), { kind: 'none' });
  });

  it('takes a link from a caption and from caption entities', () => {
    const photo = [file('p', { width: 90, height: 90 })];
    assert.deepEqual(pickSong(message({ photo, caption: 'cover of https://x.example/song' })), {
      kind: 'link',
      url: 'https://x.example/song',
    });
    const caption_entities = [{ type: 'text_link', offset: 0, length: 4, url: 'http://y.example/z' }];
    const document = file('r', { file_name: 'lyrics.txt', mime_type: 'text/plain' });
    assert.deepEqual(pickSong(message({ document, caption: 'here', caption_entities })), {
      kind: 'link',
      url: 'http://y.example/z',
    });
  });

  it('prefers an attached song to a link', () => {
    const audio = file('a', { duration: 100 });
    const pick = pickSong(message({ audio, caption: 'also https://example.com/b.mp3' }));
    assert.equal(pick.kind, 'file');
    const document = file('d', { file_name: 'song.wav' });
    const entities = [{ type: 'text_link', offset: 0, length: 4, url: 'https://example.com/c' }];
    assert.equal(pickSong(message({ document, caption: 'link', caption_entities: entities })).kind, 'file');
  });

  it('finds nothing in plain chat and service messages', () => {
    assert.deepEqual(pickSong(message({ text: 'hello' })), { kind: 'none' });
    assert.deepEqual(pickSong(message({ new_chat_title: 'Band' })), { kind: 'none' });
  });
});

describe('checkSongLimits', () => {
  const TELEGRAM: SongLimits = {
    maxDownloadBytes: 20_000_000,
    maxInputBytes: 200_000_000,
    maxDurationS: 1200,
    downloadLimitNote: 'Telegram lets bots download files up to 20 MB',
  };

  it('lets a song at exactly each limit through, and one byte or second more not', () => {
    assert.equal(checkSongLimits({ sizeBytes: 20_000_000, durationS: 1200 }, TELEGRAM), null);
    assert.equal(checkSongLimits({ sizeBytes: 20_000_001 }, TELEGRAM)?.reason, 'too-big');
    assert.equal(checkSongLimits({ durationS: 1201 }, TELEGRAM)?.reason, 'too-long');
    const local = { ...TELEGRAM, maxDownloadBytes: null };
    assert.equal(checkSongLimits({ sizeBytes: 200_000_000 }, local), null);
    assert.equal(checkSongLimits({ sizeBytes: 200_000_001 }, local)?.reason, 'too-big');
  });

  it('lets unknown facts through for the worker to check', () => {
    assert.equal(checkSongLimits({}, TELEGRAM), null);
    assert.equal(
      checkSongLimits({ sizeBytes: Number.NaN, durationS: Number.POSITIVE_INFINITY }, TELEGRAM),
      null,
    );
  });

  it('says what the platform allows and what to send instead', () => {
    assert.deepEqual(checkSongLimits({ sizeBytes: 34_600_000 }, TELEGRAM), {
      reason: 'too-big',
      message:
        'This file is 34.6 MB, and Telegram lets bots download files up to 20 MB. ' +
        'Send a smaller version (an MP3 of it), or a link to the file.',
    });
    const { downloadLimitNote: _note, ...withoutNote } = TELEGRAM;
    assert.deepEqual(checkSongLimits({ sizeBytes: 34_600_000 }, withoutNote), {
      reason: 'too-big',
      message:
        'This file is 34.6 MB, and I can download files up to 20 MB here. ' +
        'Send a smaller version (an MP3 of it), or a link to the file.',
    });
  });

  it('turns down a song over the input limit without suggesting a link', () => {
    assert.deepEqual(checkSongLimits({ sizeBytes: 350_000_000, durationS: 9999 }, TELEGRAM), {
      reason: 'too-big',
      message: 'This file is 350 MB; the largest song I take is 200 MB.',
    });
  });

  it('turns down a song that is too long', () => {
    assert.deepEqual(checkSongLimits({ sizeBytes: 9_000_000, durationS: 1500 }, TELEGRAM), {
      reason: 'too-long',
      message: 'This song is 25:00 long; the longest I take is 20:00.',
    });
  });
});

describe('commandArguments', () => {
  const base = { message_id: 1, date: 0, chat: { id: 5, type: 'private' as const, first_name: 'A' } };
  const command = (length: number, offset = 0) => [{ type: 'bot_command' as const, offset, length }];
  it('reads a command in the text or in the caption of a file, addressed to this bot or to none', () => {
    assert.equal(
      commandArguments({ ...base, text: '/mix guide 9', entities: command(4) }, ['mix'], 'StemBot'),
      'guide 9',
    );
    assert.equal(
      commandArguments(
        {
          ...base,
          caption: '/mix@stembot flac',
          caption_entities: command(12),
          document: { file_id: 'f', file_unique_id: 'u' },
        },
        ['mix'],
        'StemBot',
      ),
      'flac',
    );
    assert.equal(
      commandArguments({ ...base, text: '/STEMS', entities: command(6) }, ['separate', 'stems'], 'b'),
      '',
    );
  });

  it('is null for another bot, another command, a command later in the text, or a caption without entities', () => {
    assert.equal(
      commandArguments({ ...base, text: '/mix@OtherBot', entities: command(13) }, ['mix'], 'StemBot'),
      null,
    );
    assert.equal(
      commandArguments({ ...base, text: '/mixer', entities: command(6) }, ['mix'], 'StemBot'),
      null,
    );
    assert.equal(
      commandArguments({ ...base, text: 'please /mix', entities: command(4, 7) }, ['mix'], 'StemBot'),
      null,
    );
    assert.equal(commandArguments({ ...base, caption: '/mix' }, ['mix'], 'StemBot'), null);
  });
});

describe('parseMixArgs', () => {
  it('reads the preset, the guide level (which means guide) and the format; skips the command and links', () => {
    assert.deepEqual(parseMixArgs('/mix@StemBot guide 9 FLAC https://example.com/take.mp3'), {
      mix: { preset: 'guide', guideDb: 9 },
      format: 'flac',
      unknown: [],
    });
    assert.deepEqual(parseMixArgs('/mix -12dB'), { mix: { preset: 'guide', guideDb: 12 }, unknown: [] });
    assert.deepEqual(parseMixArgs('/mix −6 dB ogg'), {
      mix: { preset: 'guide', guideDb: 6 },
      format: 'opus',
      unknown: [],
    });
    assert.deepEqual(parseMixArgs('/mix auto'), { mix: { preset: 'auto' }, unknown: [] });
    assert.deepEqual(parseMixArgs(''), { mix: {}, unknown: [] });
  });

  it('leaves what it does not know for the bot to name, a level over 40 dB and separation words included', () => {
    assert.deepEqual(parseMixArgs('/mix loud 55 best vocals'), {
      mix: {},
      unknown: ['loud', '55', 'best', 'vocals'],
    });
  });
});

describe('parseSettingsArgs', () => {
  it('reads a preset, a format, stems and a link after the command', () => {
    assert.deepEqual(parseSettingsArgs('/separate best flac karaoke https://example.com/song.mp3'), {
      settings: { preset: 'best', format: 'flac', stems: ['music'] },
      link: 'https://example.com/song.mp3',
      unknown: [],
    });
  });

  it('skips a command addressed to a bot, and puts several stems in canonical order', () => {
    assert.deepEqual(parseSettingsArgs('/separate@StemBot Bleed,VOCALS  music'), {
      settings: { stems: ['vocals', 'music', 'bleed'] },
      link: null,
      unknown: [],
    });
    assert.deepEqual(parseSettingsArgs('/separate guide karaoke').settings, { stems: ['music', 'guide'] });
  });

  it('knows the aliases', () => {
    const read = (text: string) => parseSettingsArgs(text).settings;
    assert.deepEqual(read('ogg'), { format: 'opus' });
    assert.deepEqual(read('wav32'), { format: 'wav' });
    assert.deepEqual(read('WAV-float'), { format: 'wav' });
    assert.deepEqual(read('wav16'), { format: 'wav16' });
    assert.deepEqual(read('mp3 opus'), { format: 'opus' }, 'the last format counts');
    assert.deepEqual(read('fast, best'), { preset: 'best' }, 'the last preset counts');
    assert.deepEqual(read('instrumental'), { stems: ['music'] });
    assert.deepEqual(read('inst acapella'), { stems: ['vocals', 'music'] });
    assert.deepEqual(read('voice vocal'), { stems: ['vocals'] });
    assert.deepEqual(read('Balanced.'), { preset: 'balanced' }, 'sentence punctuation is dropped');
  });

  it('lists words it did not understand, as written', () => {
    assert.deepEqual(parseSettingsArgs('please Fast, LOUD drums constructor /other'), {
      settings: { preset: 'fast' },
      link: null,
      unknown: ['please', 'LOUD', 'drums', 'constructor', '/other'],
    });
  });

  it('takes the first link only, commas and all', () => {
    assert.deepEqual(parseSettingsArgs('https://a.example/x,y.mp3 https://b.example/z ftp://c.example/w'), {
      settings: {},
      link: 'https://a.example/x,y.mp3',
      unknown: ['https://b.example/z', 'ftp://c.example/w'],
    });
  });

  it('reads nothing from nothing', () => {
    assert.deepEqual(parseSettingsArgs(''), { settings: {}, link: null, unknown: [] });
    assert.deepEqual(parseSettingsArgs('/separate'), { settings: {}, link: null, unknown: [] });
  });
});

describe('settings keyboard', () => {
  const DEFAULTS: SeparationSettings = {
    preset: 'balanced',
    guideDb: 12,
    stems: ['vocals', 'music', 'bleed'],
    format: 'mp3',
  };
  const labels = (settings: SeparationSettings) =>
    settingsKeyboard(settings).inline_keyboard.map((row) => row.map((button) => button.text));
  const callbacks = (settings: SeparationSettings) =>
    settingsKeyboard(settings).inline_keyboard.flatMap((row) =>
      row.map((button) => ('callback_data' in button ? button.callback_data : '')),
    );

  it('marks the current preset, stems and format', () => {
    assert.deepEqual(labels(DEFAULTS), [
      ['Fast', '✅ Balanced', 'Best'],
      ['✅ Vocals', '✅ Music', '✅ Bleed', '▫️ Guide'],
      ['✅ MP3', 'FLAC', 'Opus'],
      ['WAV 16-bit', 'WAV 32-bit float'],
      ['Done'],
    ]);
    assert.deepEqual(labels({ preset: 'best', stems: ['bleed'], format: 'wav16', guideDb: 12 }), [
      ['Fast', 'Balanced', '✅ Best'],
      ['▫️ Vocals', '▫️ Music', '✅ Bleed', '▫️ Guide'],
      ['MP3', 'FLAC', 'Opus'],
      ['✅ WAV 16-bit', 'WAV 32-bit float'],
      ['Done'],
    ]);
  });

  it('sends callback data that parses back into each button’s change, within 64 bytes', () => {
    const expected: SettingsChange[] = [
      { kind: 'preset', preset: 'fast' },
      { kind: 'preset', preset: 'balanced' },
      { kind: 'preset', preset: 'best' },
      { kind: 'stem', stem: 'vocals' },
      { kind: 'stem', stem: 'music' },
      { kind: 'stem', stem: 'bleed' },
      { kind: 'stem', stem: 'guide' },
      { kind: 'format', format: 'mp3' },
      { kind: 'format', format: 'flac' },
      { kind: 'format', format: 'opus' },
      { kind: 'format', format: 'wav16' },
      { kind: 'format', format: 'wav' },
      { kind: 'done' },
    ];
    const data = callbacks(DEFAULTS);
    assert.deepEqual(data.slice(0, 4), [
      'set:preset:fast',
      'set:preset:balanced',
      'set:preset:best',
      'set:stem:vocals',
    ]);
    assert.equal(data.at(-1), 'set:done');
    assert.deepEqual(
      data.map((d) => parseSettingsCallback(d)),
      expected,
    );
    for (const d of data) assert.ok(Buffer.byteLength(d, 'utf8') <= 64, `${d} fits Telegram's 64 bytes`);
  });

  it('refuses callback data it did not send', () => {
    for (const data of [
      '',
      'set:',
      'set:preset',
      'set:preset:ultra',
      'set:stem:drums',
      'set:stem:constructor',
      'set:format:aac',
      'set:done:now',
      'set:preset:best:again',
      'other:preset:best',
      'SET:done',
    ]) {
      assert.equal(parseSettingsCallback(data), null, data);
    }
  });

  it('applies taps, keeping stems in canonical order and at least one stem', () => {
    assert.deepEqual(applySettingsChange(DEFAULTS, { kind: 'preset', preset: 'fast' }), {
      settings: { preset: 'fast', stems: ['vocals', 'music', 'bleed'], format: 'mp3', guideDb: 12 },
    });
    assert.deepEqual(applySettingsChange(DEFAULTS, { kind: 'format', format: 'flac' }), {
      settings: { preset: 'balanced', stems: ['vocals', 'music', 'bleed'], format: 'flac', guideDb: 12 },
    });
    assert.deepEqual(applySettingsChange(DEFAULTS, { kind: 'stem', stem: 'vocals' }), {
      settings: { preset: 'balanced', stems: ['music', 'bleed'], format: 'mp3', guideDb: 12 },
    });
    const bleedOnly: SeparationSettings = { preset: 'best', stems: ['bleed'], format: 'opus', guideDb: 12 };
    assert.deepEqual(applySettingsChange(bleedOnly, { kind: 'stem', stem: 'vocals' }), {
      settings: { preset: 'best', stems: ['vocals', 'bleed'], format: 'opus', guideDb: 12 },
    });
    assert.deepEqual(applySettingsChange(bleedOnly, { kind: 'stem', stem: 'bleed' }), {
      settings: { preset: 'best', stems: ['bleed'], format: 'opus', guideDb: 12 },
      notice: 'Keep at least one stem.',
    });
    assert.deepEqual(applySettingsChange(bleedOnly, { kind: 'done' }), { settings: bleedOnly });
    assert.deepEqual(DEFAULTS.stems, ['vocals', 'music', 'bleed'], 'the settings given are not changed');
  });

  it('describes settings in words', () => {
    assert.equal(describeSettings(DEFAULTS), 'Preset balanced · MP3 · Vocals, Music, Bleed');
    assert.equal(
      describeSettings({ preset: 'best', stems: ['bleed', 'vocals'], format: 'wav', guideDb: 12 }),
      'Preset best · WAV 32-bit float · Vocals, Bleed',
    );
    assert.equal(
      describeSettings({ preset: 'fast', stems: ['music'], format: 'wav16', guideDb: 12 }),
      'Preset fast · WAV 16-bit · Music',
    );
    assert.equal(
      describeSettings({ preset: 'fast', stems: ['music'], format: 'flac', guideDb: 12 }),
      'Preset fast · FLAC · Music',
    );
    assert.equal(
      describeSettings({ preset: 'fast', stems: ['music'], format: 'opus', guideDb: 12 }),
      'Preset fast · Opus · Music',
    );
    assert.equal(
      describeSettings({ preset: 'fast', stems: ['guide', 'music'], format: 'mp3', guideDb: 9 }),
      'Preset fast · MP3 · Music, Guide −9 dB',
    );
  });
});
