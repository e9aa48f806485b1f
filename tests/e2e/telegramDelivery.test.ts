/**
 * How the Telegram deliverer answers when results are too big for Telegram, in process: the real
 * TelegramDeliverer and grammY client against the local fake Bot API (tests/support/fakeTelegramApi.ts), real
 * ffmpeg re-encoding real FLAC stems, and the real signed-link path (DownloadShelf served by the status
 * server). Each case picks the upload limit from the sizes involved, so the plan it forces is stated.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Api, GrammyError } from 'grammy';
import { pino } from 'pino';
import { Registry } from 'prom-client';

import {
  estimateBytes,
  SIZE_MARGIN,
  TELEGRAM_CLOUD_LIMITS,
  type TelegramLimits,
} from '../../src/bots/core/planDelivery.js';
import { createTelegramApi } from '../../src/bots/telegram/telegramApi.js';
import { TelegramDeliverer } from '../../src/bots/telegram/telegramDeliverer.js';
import { telegramReplyTarget } from '../../src/bots/telegram/telegramTarget.js';
import { DownloadShelf } from '../../src/http/downloadShelf.js';
import { startStatusServer, type StatusServer } from '../../src/http/statusServer.js';
import { createRgbImage, encodePng } from '../../src/pipeline/analysis/png.js';
import { encodeAudio } from '../../src/pipeline/audio/encode.js';
import { type FfmpegTools, locateFfmpeg, runTool } from '../../src/pipeline/audio/ffmpeg.js';
import type { DeliveredFile, DeliveryBundle } from '../../src/queue/delivery.js';
import type { ReplyTarget } from '../../src/queue/jobSchema.js';
import { type FakeTelegramApi, type RecordedCall, startFakeTelegramApi } from '../support/fakeTelegramApi.js';
import { testSong } from '../support/signals.js';

const DURATION_S = 20;
const SECRET = 'telegram-delivery-test-secret-0123456789';
const STEMS = ['vocals', 'music', 'bleed'] as const;
const LABELS = { vocals: 'Vocals', music: 'Music', bleed: 'Bleed' } as const;
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** What a constant-bitrate MP3 of DURATION_S seconds weighs, payload only: kbit/s × 1000 / 8 × seconds. */
const mp3Bytes = (kbps: number) => ((kbps * 1000) / 8) * DURATION_S;
/** An upload limit whose budget (the limit less SIZE_MARGIN) just takes a file of `bytes` (~95 B spare). */
const limitTaking = (bytes: number) => Math.ceil(bytes / (1 - SIZE_MARGIN)) + 100;
const budgetOf = (limits: TelegramLimits) => Math.floor(limits.maxUploadBytes * (1 - SIZE_MARGIN));
const withUploadLimit = (maxUploadBytes: number): TelegramLimits => ({
  ...TELEGRAM_CLOUD_LIMITS,
  maxUploadBytes,
});

const logger = pino({ level: 'silent' });

let dir: string;
let workDir: string;
let downloadRoot: string;
let tools: FfmpegTools;
let fake: FakeTelegramApi;
let api: Api;
let statusServer: StatusServer;
let shelf: DownloadShelf;
let picture: string;
let pictureBytes: Buffer;
/** The three FLAC stems as the worker would hand them over. */
let originals: DeliveredFile[];
/** Their bytes by file name, read back right after encoding. */
const originalBytes = new Map<string, Buffer>();
let largestFlac: number;
let smallestFlac: number;

const chatOf = (call: RecordedCall) => Number(call.params.chat_id);
const textOf = (call: RecordedCall) => String(call.params.text ?? call.params.caption ?? '');
const isMp3 = (bytes: Buffer) =>
  bytes.subarray(0, 3).toString('latin1') === 'ID3' || (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0);
const linksIn = (text: string) => text.match(/https?:\/\/\S+/g) ?? [];

function deliverer(limits: TelegramLimits, withShelf: DownloadShelf | null, client: Api = api) {
  return new TelegramDeliverer({ api: client, limits, tools, shelf: withShelf, workDir, logger });
}

function bundle(jobId: string, withPicture: boolean): DeliveryBundle {
  return {
    jobId,
    title: 'Song',
    settings: { preset: 'balanced', stems: [...STEMS], format: 'flac', guideDb: 12 },
    files: originals,
    picture: withPicture ? picture : null,
    performer: 'Band',
    stats: {
      durationS: DURATION_S,
      processingS: 2,
      realTimeFactor: 0.1,
      engine: 'repet',
      device: 'cpu',
      preset: 'balanced',
      cacheHits: [],
      files: originals.map((file) => ({ stem: file.stem, name: file.name, bytes: file.bytes })),
    },
  };
}

let nextChatId = 7000;

interface Scene {
  readonly chatId: number;
  readonly sourceId: number;
  readonly statusId: number;
  readonly target: ReplyTarget;
  /** this chat's calls to `method`, the status message we sent ourselves left out */
  calls(method: string): RecordedCall[];
}

/** A private chat holding the user's song and the bot's status message (so deleteMessage can succeed). */
async function scene(client: Api = api, server: FakeTelegramApi = fake): Promise<Scene> {
  const chatId = nextChatId++;
  const user = { id: chatId, is_bot: false, first_name: `User ${chatId}` };
  const source = server.userMessage({
    chat: { id: chatId, type: 'private', first_name: user.first_name },
    from: user,
    text: 'song.flac',
  });
  const status = await client.sendMessage(chatId, 'Separating…');
  const target = telegramReplyTarget({
    chatId,
    sourceMessageId: source.message_id,
    statusMessageId: status.message_id,
    threadId: null,
  });
  const since = server.calls.length;
  return {
    chatId,
    sourceId: source.message_id,
    statusId: status.message_id,
    target,
    calls: (method) =>
      server.calls.slice(since).filter((call) => call.method === method && chatOf(call) === chatId),
  };
}

function assertStatusDeleted(s: Scene, server: FakeTelegramApi = fake): void {
  const deletes = server
    .callsTo('deleteMessage')
    .filter((call) => chatOf(call) === s.chatId && Number(call.params.message_id) === s.statusId);
  assert.equal(deletes.length, 1, 'the status message is deleted once');
  assert.equal(deletes[0].result, true, 'and the fake knew it, so the delete succeeded');
}

async function assertScratchEmpty(): Promise<void> {
  assert.deepEqual(await readdir(workDir), [], 'the deliverer leaves no scratch folder behind');
}

/** ffprobe's reading of an MP3 fed on stdin: codec and bitrate from the frame headers. */
async function probe(content: Buffer): Promise<{ codec_name: string; bit_rate: string; channels: number }> {
  const { code, stdout, stderr } = await runTool(
    tools.ffprobe,
    ['-v', 'error', '-show_entries', 'stream=codec_name,bit_rate,channels', '-of', 'json', 'pipe:0'],
    { stdin: content },
  );
  assert.equal(code, 0, `ffprobe reads the file: ${stderr}`);
  const parsed = JSON.parse(stdout.toString('utf8')) as {
    streams: { codec_name: string; bit_rate: string; channels: number }[];
  };
  assert.equal(parsed.streams.length, 1, 'one audio stream');
  return parsed.streams[0];
}

/** Checks an album of three MP3 audio items at `kbps`, titled and tagged as Telegram's player shows them. */
async function assertMp3Album(album: RecordedCall, s: Scene, kbps: number): Promise<void> {
  const media = album.params.media as { type: string; title?: string; performer?: string }[];
  assert.deepEqual(
    media.map((item) => [item.type, item.title, item.performer]),
    STEMS.map((stem) => ['audio', `Song — ${LABELS[stem]}`, 'Band']),
    'three audio items with "Song — <Stem>" titles and the performer',
  );
  assert.equal(
    (album.params.reply_parameters as { message_id: number }).message_id,
    s.sourceId,
    'the album replies to the song',
  );
  assert.deepEqual(
    album.files.map((file) => file.name),
    STEMS.map((stem) => `Song - ${LABELS[stem]}.mp3`),
    'the files keep their names with the .mp3 extension',
  );
  const expected = mp3Bytes(kbps);
  for (const file of album.files) {
    assert.ok(isMp3(file.content), `${file.name} starts like an MP3`);
    const stream = await probe(file.content);
    assert.equal(stream.codec_name, 'mp3', `${file.name} is MP3 to ffprobe`);
    assert.equal(Number(stream.bit_rate), kbps * 1000, `${file.name} is ${kbps} kbit/s`);
    assert.equal(stream.channels, 2, `${file.name} is stereo`);
    const off = Math.abs(file.content.length - expected) / expected;
    assert.ok(
      off < 0.15,
      `${file.name}: ${file.content.length} B within 15 % of ${expected} B (${kbps} kbit/s, ${DURATION_S} s)`,
    );
  }
}

/** Fetches every link and checks it serves one original FLAC file byte for byte; returns the URLs. */
async function assertLinksServeOriginals(text: string): Promise<URL[]> {
  const urls = linksIn(text)
    .filter((link) => link.startsWith(`${statusServer.url}/download/`))
    .map((link) => new URL(link));
  assert.equal(urls.length, 3, `three download links in: ${text}`);
  const served = new Set<string>();
  for (const url of urls) {
    const name = decodeURIComponent(basename(url.pathname));
    const original = originalBytes.get(name);
    assert.ok(original, `the link names an original file: ${name}`);
    const response = await fetch(url);
    assert.equal(response.status, 200, `${name} downloads`);
    const body = Buffer.from(await response.arrayBuffer());
    assert.ok(body.equals(original), `${name} downloads byte-identical to the original FLAC`);
    served.add(name);
  }
  assert.deepEqual([...served].sort(), [...originalBytes.keys()].sort(), 'one link per stem');
  return urls;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stembot-telegram-delivery-'));
  workDir = join(dir, 'work');
  downloadRoot = join(dir, 'downloads');
  await Promise.all([mkdir(workDir), mkdir(downloadRoot), mkdir(join(dir, 'stems'))]);
  tools = locateFfmpeg();

  originals = [];
  for (const [index, stem] of STEMS.entries()) {
    const name = `Song - ${LABELS[stem]}.flac`;
    const path = join(dir, 'stems', `${stem}.flac`);
    await encodeAudio(tools, testSong(DURATION_S * 44_100, index + 1), path, 'flac');
    const content = await readFile(path);
    assert.equal(content.subarray(0, 4).toString('latin1'), 'fLaC', `${name} is FLAC`);
    originalBytes.set(name, content);
    originals.push({ stem, path, name, bytes: (await stat(path)).size });
  }
  largestFlac = Math.max(...originals.map((file) => file.bytes));
  smallestFlac = Math.min(...originals.map((file) => file.bytes));

  picture = join(dir, 'spectrogram.png');
  pictureBytes = encodePng(createRgbImage(4, 3));
  await writeFile(picture, pictureBytes);

  fake = await startFakeTelegramApi();
  api = createTelegramApi({ token: fake.token, apiRoot: fake.apiRoot, local: false });
  statusServer = await startStatusServer({
    port: 0,
    host: '127.0.0.1',
    readiness: { ok: () => true },
    metrics: { registry: new Registry() },
    downloads: { root: downloadRoot, secret: SECRET },
  });
  shelf = new DownloadShelf({ root: downloadRoot, secret: SECRET, publicUrl: statusServer.url });
});

after(async () => {
  await fake?.close();
  await statusServer?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('Telegram delivery of results too big for Telegram', () => {
  it('everything fits as requested: one album of the FLAC files as documents, untouched', async () => {
    // Why native FLAC: the largest FLAC stem (~4.3 MB for 20 s of this noisy 24-bit test audio) is far under
    // the cloud budget (50 MB less 5 %), so the requested format goes untouched.
    const limits = TELEGRAM_CLOUD_LIMITS;
    assert.ok(largestFlac <= budgetOf(limits), `${largestFlac} B fits the ${budgetOf(limits)} B budget`);
    const s = await scene();
    await deliverer(limits, shelf).deliver(s.target, bundle('job-native', true));

    const albums = s.calls('sendMediaGroup');
    assert.equal(albums.length, 1, 'one album');
    const [album] = albums;
    assert.ok(album.result !== undefined, 'the fake accepted the album');
    assert.deepEqual(
      (album.params.media as { type: string }[]).map((item) => item.type),
      ['document', 'document', 'document'],
      "FLAC goes as documents: Telegram's player takes only MP3",
    );
    assert.equal(
      (album.params.reply_parameters as { message_id: number }).message_id,
      s.sourceId,
      'the album replies to the song',
    );
    assert.deepEqual(
      album.files.map((file) => file.name),
      originals.map((file) => file.name),
      'the files keep their names',
    );
    for (const file of album.files) {
      assert.ok(file.content.equals(originalBytes.get(file.name)!), `${file.name} is sent byte for byte`);
    }
    for (const method of ['sendAudio', 'sendDocument']) {
      assert.equal(s.calls(method).length, 0, `no single-file ${method}`);
    }

    const photos = s.calls('sendPhoto');
    assert.equal(photos.length, 1, 'the spectrogram goes as one photo');
    assert.ok(photos[0].files[0].content.equals(pictureBytes), 'the photo is the spectrogram PNG');
    assert.ok(photos[0].files[0].content.subarray(0, 8).equals(PNG_MAGIC), 'a PNG');
    assert.match(textOf(photos[0]), /🎵 Song/, 'the caption names the song');
    assert.match(
      textOf(photos[0]),
      /Engine: repet on cpu · preset balanced/,
      'the caption carries the stats',
    );
    assert.match(textOf(photos[0]), /0:20 of audio/, 'the caption gives the duration');
    assert.equal(linksIn(textOf(photos[0])).length, 0, 'no links when nothing was changed');
    assert.equal(s.calls('sendMessage').length, 0, 'no text message beside the photo');
    assert.ok(album.at <= photos[0].at, 'the stats come after the stems');
    assert.ok(!existsSync(join(downloadRoot, 'job-native')), 'nothing put on the download shelf');
    assertStatusDeleted(s);
    await assertScratchEmpty();
  });

  it('FLAC too big, MP3 320 fits: an album of MP3 320 audio, signed links to the FLAC files', async () => {
    // Why MP3 320: the budget takes the MP3 320 estimate (40 000 B/s × 20 s plus headers) but not the
    // smallest FLAC stem, so FLAC cannot go and the first step down the ladder does.
    const limits = withUploadLimit(
      limitTaking(estimateBytes({ format: 'mp3', bitrateKbps: 320 }, DURATION_S)),
    );
    assert.ok(
      smallestFlac > budgetOf(limits),
      `no FLAC stem (${smallestFlac} B+) fits ${budgetOf(limits)} B`,
    );
    const s = await scene();
    await deliverer(limits, shelf).deliver(s.target, bundle('job-mp3-320', false));

    const albums = s.calls('sendMediaGroup');
    assert.equal(albums.length, 1, 'one album');
    await assertMp3Album(albums[0], s, 320);

    const texts = s.calls('sendMessage');
    assert.equal(texts.length, 2, 'a message with the links, then the stats (no picture)');
    const [note, stats] = texts.map(textOf);
    assert.match(note, /Sent as MP3 320 kbit\/s/, 'the note says the files were sent as MP3 320 kbit/s');
    await assertLinksServeOriginals(note);
    assert.match(stats, /🎵 Song/, 'the stats name the song');
    assert.ok(albums[0].at <= texts[0].at, 'the links come after the stems');
    assertStatusDeleted(s);
    await assertScratchEmpty();
  });

  it('even MP3 128 too big: MP3 96 previews, and a message with signed links to the FLAC files', async () => {
    // Why previews: the budget takes the MP3 96 preview estimate (12 000 B/s × 20 s plus headers) but not MP3
    // 128 (16 000 B/s), the last native step Telegram plays (Opus 96 is skipped: Telegram does not play it).
    const limits = withUploadLimit(
      limitTaking(estimateBytes({ format: 'mp3', bitrateKbps: 96 }, DURATION_S)),
    );
    const mp3128 = estimateBytes({ format: 'mp3', bitrateKbps: 128 }, DURATION_S);
    assert.ok(mp3128 > budgetOf(limits), `MP3 128 (${mp3128} B) does not fit ${budgetOf(limits)} B`);
    assert.ok(mp3Bytes(128) > budgetOf(limits), 'not even its payload alone');
    const s = await scene();
    await deliverer(limits, shelf).deliver(s.target, bundle('job-previews', false));

    const albums = s.calls('sendMediaGroup');
    assert.equal(albums.length, 1, 'one preview album');
    await assertMp3Album(albums[0], s, 96);

    const texts = s.calls('sendMessage');
    const withLinks = texts.filter((call) => linksIn(textOf(call)).length > 0);
    assert.equal(withLinks.length, 1, 'one message carries the links');
    const notice = withLinks[0];
    assert.equal(
      (notice.params.reply_parameters as { message_id: number }).message_id,
      s.sourceId,
      'the links reply to the song',
    );
    assert.match(textOf(notice), /MP3 128 kbit\/s/, 'the reason names the smallest step that did not fit');
    assert.match(textOf(notice), /previews/, 'and says the album holds previews');
    const urls = await assertLinksServeOriginals(textOf(notice));

    const tampered = new URL(urls[0]);
    const sig = tampered.searchParams.get('sig')!;
    tampered.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    const refused = await fetch(tampered);
    await refused.arrayBuffer();
    assert.equal(refused.status, 403, 'a link with a tampered signature is refused');

    assert.equal(texts.length, 2, 'besides the links, one stats message');
    assertStatusDeleted(s);
    await assertScratchEmpty();
  });

  it('nothing fits and no download server: one message saying so, no files, no throw', async () => {
    // Why nothing: a 200 kB limit (190 kB budget) is under even the MP3 96 preview (12 000 B/s × 20 s), and
    // with no shelf there is nothing to link to.
    const limits = withUploadLimit(200_000);
    const preview = estimateBytes({ format: 'mp3', bitrateKbps: 96 }, DURATION_S);
    assert.ok(preview > budgetOf(limits), `the MP3 96 preview (${preview} B) does not fit`);
    assert.ok(mp3Bytes(96) > budgetOf(limits), 'not even its payload alone');
    const s = await scene();
    await deliverer(limits, null).deliver(s.target, bundle('job-nothing', true));

    for (const method of ['sendMediaGroup', 'sendAudio', 'sendDocument']) {
      assert.equal(s.calls(method).length, 0, `no ${method}: no file fits`);
    }
    const texts = s.calls('sendMessage');
    assert.equal(texts.length, 1, 'one explanation (the stats go with the photo)');
    const text = textOf(texts[0]);
    assert.match(text, /no download server/, 'it says there is no download server');
    assert.match(text, /MP3/, 'it suggests MP3');
    assert.match(text, /fewer stems/, 'or fewer stems');
    assert.match(text, /\/settings/, 'in /settings');
    assert.equal(linksIn(text).length, 0, 'and offers no link');
    assert.equal(
      (texts[0].params.reply_parameters as { message_id: number }).message_id,
      s.sourceId,
      'it replies to the song',
    );
    assert.equal(s.calls('sendPhoto').length, 1, 'the spectrogram and stats still go');
    assertStatusDeleted(s);
    await assertScratchEmpty();
  });

  it('chat blocked the bot: deliver resolves; a persistent server error: deliver rejects', async () => {
    const blocked = await scene();
    fake.failNext('sendMediaGroup', {
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
    // Resolves: nothing can reach that chat, and retrying the job would only redo the separation.
    await deliverer(TELEGRAM_CLOUD_LIMITS, shelf).deliver(blocked.target, bundle('job-blocked', true));
    assert.equal(blocked.calls('sendMediaGroup').length, 1, 'one try at the album, no retry of a 403');
    assert.equal(blocked.calls('sendMediaGroup')[0].result, undefined, 'and it was refused');
    assert.equal(blocked.calls('sendPhoto').length + blocked.calls('sendMessage').length, 0, 'no stats');
    await assertScratchEmpty();

    // The auto-retry plugin waits 3, 6, 12, 24 and 48 s between 5xx retries (93 s before it gives up), far
    // too slow here, so this part uses a plain grammY Api without the plugin: one 500 is then final, as the
    // ten queued ones would be after auto-retry's five retries. Its own fake keeps the unused failures away.
    const failing = await startFakeTelegramApi();
    try {
      const plain = new Api(failing.token, { apiRoot: failing.apiRoot });
      const s = await scene(plain, failing);
      failing.failNext('sendMediaGroup', { error_code: 500, description: 'Internal Server Error' }, 10);
      await assert.rejects(
        deliverer(TELEGRAM_CLOUD_LIMITS, shelf, plain).deliver(s.target, bundle('job-500', true)),
        (error: unknown) => error instanceof GrammyError && error.error_code === 500,
        'deliver rejects, so the queue retries the job later',
      );
      assert.equal(s.calls('sendMediaGroup').length, 1, 'the album was tried');
      assert.equal(s.calls('sendPhoto').length + s.calls('sendMessage').length, 0, 'no stats without stems');
      assert.equal(
        failing.callsTo('deleteMessage').length,
        0,
        'the status message stays for the retry to replace',
      );
      await assertScratchEmpty();
    } finally {
      await failing.close();
    }
  });

  it('fail(): "❌ reason" replying to the song, and the status message deleted', async () => {
    const s = await scene();
    await deliverer(TELEGRAM_CLOUD_LIMITS, shelf).fail(s.target, 'reason text');
    const texts = s.calls('sendMessage');
    assert.equal(texts.length, 1, 'one message');
    assert.equal(textOf(texts[0]), '❌ reason text', 'the reason as given, after a cross mark');
    assert.equal(
      (texts[0].params.reply_parameters as { message_id: number }).message_id,
      s.sourceId,
      'it replies to the song',
    );
    assertStatusDeleted(s);
  });
});
