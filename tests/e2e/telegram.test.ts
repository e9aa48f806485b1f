/**
 * The Telegram bot end to end: the real `stembot bot` (grammY, long polling) and a real `stembot worker` (the
 * real pipeline, model-free engine) on the real Redis, both talking to a local fake Bot API server
 * (tests/support/fakeTelegramApi.ts) through TELEGRAM_API_ROOT. The fake records every call, so the tests read
 * what a user would have seen.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { SEPARATE_QUEUE } from '../../src/queue/jobSchema.js';
import { connectRedis } from '../../src/queue/queueContext.js';
import { type ChatBotHarness, startChatBotHarness, stopCli } from '../support/chatBotHarness.js';
import { type CliProcess, startCli } from '../support/cli.js';
import { type FakeTelegramApi, type RecordedCall, startFakeTelegramApi } from '../support/fakeTelegramApi.js';
import { testSong } from '../support/signals.js';
import { dropTestKeys, TEST_REDIS_URL, testPrefix } from '../support/testRedis.js';

const ADMIN_ID = 999;

let harness: ChatBotHarness;

function start(command: 'bot' | 'worker', api: FakeTelegramApi, prefix: string, env: NodeJS.ProcessEnv = {}) {
  return harness.start(command, prefix, {
    TELEGRAM_BOT_TOKEN: api.token,
    TELEGRAM_API_ROOT: api.apiRoot,
    TELEGRAM_ADMIN_IDS: String(ADMIN_ID),
    ...env,
  });
}

const stop = stopCli;

/** A user and their private chat. */
function privateChat(id: number) {
  return {
    chat: { id, type: 'private' as const, first_name: `User ${id}` },
    from: { id, is_bot: false, first_name: `User ${id}` },
  };
}

const GROUP = { id: -100200300, type: 'supergroup' as const, title: 'Karaoke night' };

/** A WAV song registered with the fake as a Telegram file. */
function addSong(api: FakeTelegramApi, key: string, seconds: number, seed: number) {
  const content = Buffer.from(encodeWav(testSong(Math.round(seconds * 44100), seed), 'f32'));
  api.addFile({ fileId: `file-${key}`, fileUniqueId: `unique-${key}`, content });
  return { file_id: `file-${key}`, file_unique_id: `unique-${key}`, file_size: content.length };
}

const chatOf = (call: RecordedCall) => Number(call.params.chat_id);
const succeeded = (call: RecordedCall) => call.result !== undefined;
const isMp3 = (bytes: Buffer) =>
  bytes.subarray(0, 3).toString('latin1') === 'ID3' || (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0);
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function textOf(call: RecordedCall): string {
  return String(call.params.text ?? call.params.caption ?? '');
}

/** Waits for the bot's text reply to a chat that matches `pattern`. */
function reply(api: FakeTelegramApi, chatId: number, pattern: RegExp, timeoutMs = 20_000) {
  return api.waitForCall(
    'sendMessage',
    (call) => chatOf(call) === chatId && pattern.test(textOf(call)),
    timeoutMs,
  );
}

before(async () => {
  harness = await startChatBotHarness('telegram');
});

after(() => harness.close());

describe('Telegram: songs in, stems out', () => {
  const prefix = testPrefix('telegram');
  let api: FakeTelegramApi;
  let bot: CliProcess;
  let worker: CliProcess;
  let redis: Redis;

  before(async () => {
    api = await startFakeTelegramApi();
    redis = connectRedis(TEST_REDIS_URL);
    worker = start('worker', api, prefix);
    bot = start('bot', api, prefix);
    await Promise.all([worker.waitFor('worker ready', 60_000), bot.waitFor('telegram bot ready', 30_000)]);
  });

  after(async () => {
    await Promise.all([stop(bot), stop(worker)]);
    const logs = bot.stderr() + worker.stderr();
    await api.close();
    await dropTestKeys(redis, prefix);
    // Telegram file URLs carry the token; it must not reach any log line (debug level included).
    assert.ok(!logs.includes(api.token), 'the bot token appears in no log line');
    assert.ok(!logs.includes(api.token.split(':')[1]), 'not even the secret half of it');
  });

  it('an audio message in a private chat: ack with the queue position, three audio files, spectrogram, stats', async () => {
    const user = privateChat(1001);
    const audio = addSong(api, 'private', 6, 1);
    // Telegram's flood control answers once with 429: the auto-retry plugin waits and sends again.
    api.failNext('sendMediaGroup', { error_code: 429, description: 'Too Many Requests: retry after 1' });
    const message = api.userMessage({
      ...user,
      audio: {
        ...audio,
        duration: 6,
        mime_type: 'audio/wav',
        file_name: 'my song.wav',
        title: 'My Song',
        performer: 'The Band',
      },
    });
    api.pushUpdate({ message });

    const ack = await api.waitForCall('sendMessage', (call) => chatOf(call) === 1001);
    assert.deepEqual(
      (ack.params.reply_parameters as { message_id: number }).message_id,
      message.message_id,
      'the acknowledgement replies to the song',
    );
    const statusId = (ack.result as { message_id: number }).message_id;
    const queued = await api.waitForCall(
      'editMessageText',
      (call) => call.params.message_id === statusId && /In queue/.test(textOf(call)),
    );
    assert.match(textOf(queued), /My Song/);
    assert.match(textOf(queued), /Preset balanced · MP3 · Vocals, Music, Bleed/);
    const keyboard = queued.params.reply_markup as { inline_keyboard: { callback_data: string }[][] };
    assert.match(
      keyboard.inline_keyboard[0][0].callback_data,
      /^cancel:/,
      'the status message has a Cancel button',
    );

    const album = await api.waitForCall(
      'sendMediaGroup',
      (call) => chatOf(call) === 1001 && succeeded(call),
      60_000,
    );
    const media = album.params.media as { type: string; title: string; performer: string }[];
    assert.deepEqual(
      media.map((item) => [item.type, item.title, item.performer]),
      [
        ['audio', 'My Song — Vocals', 'The Band'],
        ['audio', 'My Song — Music', 'The Band'],
        ['audio', 'My Song — Bleed', 'The Band'],
      ],
    );
    assert.equal(album.files.length, 3, 'three files uploaded');
    for (const file of album.files) assert.ok(isMp3(file.content), `${file.name} is an MP3`);
    assert.equal(
      api.callsTo('sendMediaGroup').filter((c) => chatOf(c) === 1001).length,
      2,
      'sent again after 429',
    );

    const photo = await api.waitForCall('sendPhoto', (call) => chatOf(call) === 1001);
    assert.ok(photo.files[0].content.subarray(0, 8).equals(PNG_MAGIC), 'the spectrogram is a PNG');
    assert.match(textOf(photo), /Engine: repet on cpu.* · preset balanced/);
    assert.match(textOf(photo), /0:06 of audio in/);
    assert.ok(photo.at >= album.at, 'the stats come after the stems');
    await api.waitForCall('deleteMessage', (call) => call.params.message_id === statusId);
    assert.ok(
      api.downloads.some((path) => path.includes('music/')),
      'the worker downloaded the file itself',
    );
  });

  it('/separate replying to a file in a group (privacy mode): settings from the command, documents back', async () => {
    const member = { id: 2002, is_bot: false, first_name: 'Singer' };
    const document = addSong(api, 'group', 5, 2);
    const songMessage = api.userMessage({
      chat: GROUP,
      from: member,
      document: { ...document, file_name: 'Cover take.wav', mime_type: 'audio/x-wav' },
    });
    // With privacy mode on, the bot never sees the song itself: only the command that replies to it.
    const command = `/separate@${api.botUser.username} flac vocals music`;
    const commandMessage = api.userMessage({
      chat: GROUP,
      from: member,
      text: command,
      entities: [{ type: 'bot_command', offset: 0, length: command.indexOf(' ') }],
      reply_to_message: songMessage as never, // grammY types a reply without its own reply_to_message
    });
    api.pushUpdate({ message: commandMessage });

    const album = await api.waitForCall(
      'sendMediaGroup',
      (call) => chatOf(call) === GROUP.id && succeeded(call),
      60_000,
    );
    const media = album.params.media as { type: string }[];
    assert.deepEqual(
      media.map((item) => item.type),
      ['document', 'document'],
      'FLAC goes as documents',
    );
    assert.deepEqual(
      album.files.map((file) => file.name),
      ['Cover take - Vocals.flac', 'Cover take - Music.flac'],
    );
    for (const file of album.files) assert.equal(file.content.subarray(0, 4).toString('latin1'), 'fLaC');
    assert.equal(
      (album.params.reply_parameters as { message_id: number }).message_id,
      songMessage.message_id,
      'the stems reply to the song, not to the command',
    );
    await api.waitForCall('sendPhoto', (call) => chatOf(call) === GROUP.id);
    // At most one status edit per 3 s in a group (Telegram's ~20 edits a minute per group).
    const edits = api.callsTo('editMessageText').filter((call) => chatOf(call) === GROUP.id);
    for (let i = 1; i < edits.length; i++) {
      assert.ok(edits[i].at - edits[i - 1].at >= 2900, `edits ${i - 1} and ${i} are 3 s apart in the group`);
    }
  });

  it('/mix as the caption of a recording replying to a backing track in a group: one file and every decision', async () => {
    const member = { id: 2003, is_bot: false, first_name: 'Singer' };
    const backing = api.userMessage({
      chat: GROUP,
      from: member,
      audio: {
        ...addSong(api, 'mix-backing', 7, 31),
        duration: 7,
        mime_type: 'audio/wav',
        title: 'Karaoke Track',
      },
    });
    const caption = `/mix@${api.botUser.username} flac`;
    const take = api.userMessage({
      chat: GROUP,
      from: member,
      document: { ...addSong(api, 'mix-take', 5, 32), file_name: 'my take.wav', mime_type: 'audio/x-wav' },
      caption,
      caption_entities: [{ type: 'bot_command', offset: 0, length: caption.indexOf(' ') }],
      reply_to_message: backing as never,
    });
    api.pushUpdate({ message: take });

    const sent = await api.waitForCall(
      'sendDocument',
      (call) => chatOf(call) === GROUP.id && succeeded(call),
      60_000,
    );
    assert.equal(sent.files.length, 1, 'one file: the mix');
    assert.equal(sent.files[0].name, 'Karaoke Track - Mix.flac');
    assert.equal(sent.files[0].content.subarray(0, 4).toString('latin1'), 'fLaC');
    assert.equal(
      (sent.params.reply_parameters as { message_id: number }).message_id,
      take.message_id,
      'the mix replies to the recording',
    );
    const stats = await reply(api, GROUP.id, /Engine: mixer on cpu · preset auto mix/, 30_000);
    const text = textOf(stats);
    assert.match(text, /Vocal −?\d+\.\d LUFS \(5\.0 s\), backing −?\d+\.\d LUFS \(7\.0 s\)/);
    assert.match(text, /Compression: /);
    assert.match(text, /Reverb: tempo \d+ BPM/);
    assert.match(text, /Level: vocal [+−]\d+\.\d dB → −0\.5 LU against the backing/);
    const asked = api.callsTo('getFile').map((call) => String(call.params.file_id));
    assert.ok(
      asked.includes('file-mix-backing') && asked.includes('file-mix-take'),
      `the worker fetched both files: ${asked.join(', ')}`,
    );
  });

  it('a voice note answering a song in a private chat is mixed over it; /mix guide 6 lays it 6 dB down', async () => {
    const user = privateChat(1004);
    const backing = api.userMessage({
      ...user,
      audio: {
        ...addSong(api, 'voice-backing', 6, 33),
        duration: 6,
        mime_type: 'audio/wav',
        title: 'Backing',
      },
    });
    const voice = api.userMessage({
      ...user,
      voice: { ...addSong(api, 'voice-take', 4, 34), duration: 4, mime_type: 'audio/ogg' },
      reply_to_message: backing as never,
    });
    api.pushUpdate({ message: voice });
    const audio = await api.waitForCall(
      'sendAudio',
      (call) => chatOf(call) === 1004 && succeeded(call),
      60_000,
    );
    assert.equal(audio.params.title, 'Backing — Mix', 'plays as the mix of the backing track');
    assert.ok(isMp3(audio.files[0].content), 'MP3 by default');
    await reply(api, 1004, /preset auto mix/, 30_000);

    const caption = '/mix guide 6';
    const guide = api.userMessage({
      ...user,
      audio: { ...addSong(api, 'guide-take', 4, 35), duration: 4, mime_type: 'audio/wav', title: 'Vocals' },
      caption,
      caption_entities: [{ type: 'bot_command', offset: 0, length: 4 }],
      reply_to_message: backing as never,
    });
    api.pushUpdate({ message: guide });
    const stats = await reply(api, 1004, /Guide vocal: −6\.0 dB, no other processing/, 60_000);
    assert.doesNotMatch(textOf(stats), /Compression|Reverb/);
  });

  it('/mix with nothing to mix says how', async () => {
    const user = privateChat(1005);
    const command = api.userMessage({
      ...user,
      text: '/mix',
      entities: [{ type: 'bot_command', offset: 0, length: 4 }],
    });
    api.pushUpdate({ message: command });
    await reply(api, 1005, /reply to the message with the backing track/);
    const words = api.userMessage({
      ...user,
      text: '/mix louder please',
      entities: [{ type: 'bot_command', offset: 0, length: 4 }],
    });
    api.pushUpdate({ message: words });
    await reply(api, 1005, /I did not understand “louder please”/);
  });

  it('a link in a text message is fetched by the worker', async () => {
    const user = privateChat(1003);
    api.pushUpdate({
      message: api.userMessage({ ...user, text: `please split ${harness.songBase}/linked.wav thanks` }),
    });
    const album = await api.waitForCall(
      'sendMediaGroup',
      (call) => chatOf(call) === 1003 && succeeded(call),
      60_000,
    );
    assert.deepEqual(
      (album.params.media as { title: string }[]).map((item) => item.title),
      ['linked — Vocals', 'linked — Music', 'linked — Bleed'],
    );
  });

  it('/settings: the inline keyboard changes the format for the next songs', async () => {
    const user = privateChat(1004);
    api.pushUpdate({
      message: api.userMessage({
        ...user,
        text: '/settings',
        entities: [{ type: 'bot_command', offset: 0, length: 9 }],
      }),
    });
    const menu = await reply(api, 1004, /Your settings/);
    const menuMessage = menu.result as { message_id: number; chat: { id: number; type: 'private' } };
    api.pushUpdate({
      callback_query: {
        id: 'cb-1',
        from: user.from,
        chat_instance: 'ci-1',
        message: { ...menuMessage, date: 0, chat: user.chat },
        data: 'set:format:opus',
      },
    });
    const edited = await api.waitForCall(
      'editMessageText',
      (call) => call.params.message_id === menuMessage.message_id,
    );
    assert.match(textOf(edited), /Opus/);
    await api.waitForCall('answerCallbackQuery', (call) => call.params.callback_query_id === 'cb-1');

    const audio = addSong(api, 'opus', 4, 3);
    api.pushUpdate({
      message: api.userMessage({ ...user, audio: { ...audio, duration: 4, file_name: 'b.wav' } }),
    });
    const album = await api.waitForCall(
      'sendMediaGroup',
      (call) => chatOf(call) === 1004 && succeeded(call),
      60_000,
    );
    assert.deepEqual(
      album.files.map((file) => file.content.subarray(0, 4).toString('latin1')),
      ['OggS', 'OggS', 'OggS'],
      'Opus files (sent as documents: Telegram plays only MP3 in its player)',
    );
  });

  it('/stats answers admins only', async () => {
    const admin = privateChat(ADMIN_ID);
    const stats = { text: '/stats', entities: [{ type: 'bot_command' as const, offset: 0, length: 6 }] };
    api.pushUpdate({ message: api.userMessage({ ...admin, ...stats }) });
    const answer = await reply(api, ADMIN_ID, /Queue/);
    assert.match(textOf(answer), /Workers \(1\):/);
    const user = privateChat(1005);
    api.pushUpdate({ message: api.userMessage({ ...user, ...stats }) });
    await reply(api, 1005, /for the admins/);
  });

  it('a file that is not audio inside: the worker tells the user, without retrying', async () => {
    const user = privateChat(1006);
    const content = Buffer.from('this is not audio at all '.repeat(200));
    api.addFile({ fileId: 'file-fake', fileUniqueId: 'unique-fake', content });
    const message = api.userMessage({
      ...user,
      document: {
        file_id: 'file-fake',
        file_unique_id: 'unique-fake',
        file_size: content.length,
        file_name: 'song.mp3',
        mime_type: 'audio/mpeg',
      },
    });
    api.pushUpdate({ message });
    const failure = await reply(api, 1006, /^❌/, 60_000);
    assert.match(textOf(failure), /audio/i);
    assert.equal((failure.params.reply_parameters as { message_id: number }).message_id, message.message_id);
    const fetched = api.callsTo('getFile').filter((call) => call.params.file_id === 'file-fake');
    assert.equal(fetched.length, 1, 'fetched once: a file that is not audio fails without retries');
  });

  it('a restart of the bot while its job runs: the result still arrives, once', async () => {
    const user = privateChat(1007);
    const audio = addSong(api, 'restart', 40, 7); // 14 MB: under the 20 MB download limit
    api.pushUpdate({
      message: api.userMessage({ ...user, audio: { ...audio, duration: 40, file_name: 'long.wav' } }),
    });
    await api.waitForCall(
      'editMessageText',
      (call) => chatOf(call) === 1007 && /Separating/.test(textOf(call)),
      60_000,
    );
    bot.child.kill('SIGKILL');
    await bot.exited;
    bot = start('bot', api, prefix);
    await bot.waitFor('telegram bot ready', 30_000);
    await api.waitForCall('sendPhoto', (call) => chatOf(call) === 1007, 60_000);
    await new Promise((done) => setTimeout(done, 1500)); // room for a second delivery, if there were one
    const albums = api.callsTo('sendMediaGroup').filter((call) => chatOf(call) === 1007 && succeeded(call));
    assert.equal(albums.length, 1, 'one album');
    assert.equal(api.callsTo('sendPhoto').filter((call) => chatOf(call) === 1007).length, 1, 'one picture');
  });
  it('the Cancel button of a running job: it stops, and nothing is sent', async () => {
    const user = privateChat(1008);
    const audio = addSong(api, 'cancel', 40, 8);
    api.pushUpdate({
      message: api.userMessage({ ...user, audio: { ...audio, duration: 40, file_name: 'c.wav' } }),
    });
    const running = await api.waitForCall(
      'editMessageText',
      (call) => chatOf(call) === 1008 && /Downloading|Reading|Separating/.test(textOf(call)),
      60_000,
    );
    const markup = running.params.reply_markup as { inline_keyboard: { callback_data: string }[][] };
    const data = markup.inline_keyboard[0][0].callback_data;
    const status = { message_id: Number(running.params.message_id), date: 0, chat: user.chat };
    // someone else's press is refused: only the person who sent the song may cancel it
    api.pushUpdate({
      callback_query: {
        id: 'cb-other',
        from: privateChat(1009).from,
        chat_instance: 'c',
        message: status,
        data,
      },
    });
    const refused = await api.waitForCall(
      'answerCallbackQuery',
      (c) => c.params.callback_query_id === 'cb-other',
    );
    assert.match(String(refused.params.text), /Only the person who sent/);
    api.pushUpdate({
      callback_query: { id: 'cb-cancel', from: user.from, chat_instance: 'c', message: status, data },
    });
    const answered = await api.waitForCall(
      'answerCallbackQuery',
      (c) => c.params.callback_query_id === 'cb-cancel',
    );
    assert.equal(answered.params.text, 'Cancelled.');
    await worker.waitFor('job cancelled', 30_000);
    await new Promise((done) => setTimeout(done, 1000));
    assert.equal(
      api.callsTo('sendMediaGroup').filter((call) => chatOf(call) === 1008).length,
      0,
      'no stems sent',
    );
    assert.equal(
      api.callsTo('sendPhoto').filter((call) => chatOf(call) === 1008).length,
      0,
      'no picture sent',
    );
  });
});

describe('Telegram: every refusal gets a clear reply', () => {
  const prefix = testPrefix('telegram-refusals');
  let api: FakeTelegramApi;
  let bot: CliProcess;
  let redis: Redis;
  let queue: Queue;

  before(async () => {
    api = await startFakeTelegramApi();
    redis = connectRedis(TEST_REDIS_URL);
    queue = new Queue(SEPARATE_QUEUE, { connection: redis, prefix });
    // No worker: queued songs stay queued. Links to private addresses are refused, as in production.
    bot = start('bot', api, prefix, { STEMBOT_ALLOW_PRIVATE_URLS: '0', STEMBOT_MAX_JOBS_IN_FLIGHT: '1' });
    await bot.waitFor('telegram bot ready', 30_000);
  });

  after(async () => {
    await stop(bot);
    await api.close();
    await dropTestKeys(redis, prefix, queue);
  });

  it('too big for the Bot API download: refused before queueing', async () => {
    const user = privateChat(3001);
    api.pushUpdate({
      message: api.userMessage({
        ...user,
        audio: { file_id: 'big', file_unique_id: 'big-u', duration: 200, file_size: 34_600_000 },
      }),
    });
    const answer = await reply(api, 3001, /^❌/);
    assert.match(textOf(answer), /34\.6 MB.*20 MB/);
    assert.deepEqual(api.callsTo('getFile'), [], 'nothing fetched');
  });

  it('too long: refused with both lengths', async () => {
    const user = privateChat(3002);
    api.pushUpdate({
      message: api.userMessage({
        ...user,
        audio: { file_id: 'long', file_unique_id: 'long-u', duration: 1500, file_size: 9_000_000 },
      }),
    });
    assert.match(textOf(await reply(api, 3002, /^❌/)), /25:00.*20:00/);
  });

  it('not audio: a PDF document', async () => {
    const user = privateChat(3003);
    api.pushUpdate({
      message: api.userMessage({
        ...user,
        document: {
          file_id: 'pdf',
          file_unique_id: 'pdf-u',
          file_name: 'report.pdf',
          mime_type: 'application/pdf',
        },
      }),
    });
    assert.match(textOf(await reply(api, 3003, /^❌/)), /report\.pdf.*not audio or video/);
  });

  it('a link to a private address is refused at once', async () => {
    const user = privateChat(3004);
    api.pushUpdate({
      message: api.userMessage({ ...user, text: 'http://169.254.169.254/latest/meta-data' }),
    });
    assert.match(textOf(await reply(api, 3004, /^❌/)), /public/);
    assert.equal(await queue.count(), 0, 'nothing queued');
  });

  it('over the quota: refused; /cancel frees the slot and removes the waiting job', async () => {
    const user = privateChat(3005);
    const first = addSong(api, 'quota-1', 3, 21);
    const second = addSong(api, 'quota-2', 3, 22);
    api.pushUpdate({ message: api.userMessage({ ...user, audio: { ...first, duration: 3 } }) });
    await api.waitForCall(
      'editMessageText',
      (call) => chatOf(call) === 3005 && /In queue/.test(textOf(call)),
    );
    api.pushUpdate({ message: api.userMessage({ ...user, audio: { ...second, duration: 3 } }) });
    await api.waitForCall(
      'editMessageText',
      (call) => chatOf(call) === 3005 && /already have 1 song in progress/.test(textOf(call)),
    );
    assert.equal(await queue.getWaitingCount(), 1, 'only the first song waits');

    api.pushUpdate({
      message: api.userMessage({
        ...user,
        text: '/cancel',
        entities: [{ type: 'bot_command', offset: 0, length: 7 }],
      }),
    });
    await reply(api, 3005, /Cancelled your song/);
    assert.equal(await queue.getWaitingCount(), 0, 'the waiting job is gone');
    const seen = api.calls.length;
    api.pushUpdate({ message: api.userMessage({ ...user, audio: { ...second, duration: 3 } }) });
    await api.waitForCall(
      'editMessageText',
      (call) => api.calls.indexOf(call) >= seen && chatOf(call) === 3005 && /In queue/.test(textOf(call)),
    );
  });

  it('queue unavailable: a bot whose Redis is down says so and queues nothing', async () => {
    // one poller per bot token (Telegram answers a second one 409): the first bot goes before the second starts
    await stop(bot);
    const down = start('bot', api, `${prefix}-down`, { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      await down.waitFor('telegram bot ready', 30_000);
      const user = privateChat(3006);
      const audio = addSong(api, 'down', 3, 23);
      api.pushUpdate({ message: api.userMessage({ ...user, audio: { ...audio, duration: 3 } }) });
      assert.match(textOf(await reply(api, 3006, /unavailable/)), /try again/);
    } finally {
      await stop(down);
    }
  });
});

describe('stembot all: the bot and a worker in one process', () => {
  const prefix = testPrefix('telegram-all');
  let api: FakeTelegramApi;
  let all: CliProcess;
  let redis: Redis;

  before(async () => {
    api = await startFakeTelegramApi();
    redis = connectRedis(TEST_REDIS_URL);
    all = harness.track(
      startCli(['all'], {
        REDIS_URL: TEST_REDIS_URL,
        STEMBOT_QUEUE_PREFIX: prefix,
        TELEGRAM_BOT_TOKEN: api.token,
        TELEGRAM_API_ROOT: api.apiRoot,
        STEMBOT_ENGINE: 'repet',
        STEMBOT_CACHE_DIR: join(harness.dir, 'cache-all'),
        STEMBOT_WORK_DIR: join(harness.dir, 'work-all'),
        STEMBOT_HTTP_PORT: '0',
      }),
    );
    await Promise.all([all.waitFor('worker ready', 60_000), all.waitFor('telegram bot ready', 60_000)]);
  });

  after(async () => {
    await stop(all);
    await api.close();
    await dropTestKeys(redis, prefix);
  });

  it('answers a song on its own, and stops cleanly on SIGTERM', async () => {
    const user = privateChat(4001);
    const audio = addSong(api, 'all', 4, 31);
    api.pushUpdate({
      message: api.userMessage({ ...user, audio: { ...audio, duration: 4, file_name: 'one box.wav' } }),
    });
    const album = await api.waitForCall(
      'sendMediaGroup',
      (call) => chatOf(call) === 4001 && succeeded(call),
      60_000,
    );
    assert.equal(album.files.length, 3, 'three stems');
    await api.waitForCall('sendPhoto', (call) => chatOf(call) === 4001);
    all.child.kill('SIGTERM');
    assert.equal(await all.exited, 0, 'exit code 0 after SIGTERM');
  });
});
