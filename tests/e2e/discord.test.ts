/**
 * The Discord bot end to end: the real `stembot bot` (discord.js on the gateway) and a real `stembot worker`
 * (the real pipeline, model-free engine) on the real Redis, both talking to a local fake of Discord's REST API,
 * CDN and gateway (tests/support/fakeDiscord.ts) through DISCORD_API_URL. The fake records every request, so
 * the tests read what a user would have seen: the deferral, the status edits, the stems, the picture and the
 * stats, and where they went when the interaction token could no longer carry them.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ApplicationCommandOptionType } from 'discord.js';

import { decodeAudio } from '../../src/pipeline/audio/decode.js';
import { locateFfmpeg } from '../../src/pipeline/audio/ffmpeg.js';
import { encodeWav } from '../../src/pipeline/audio/wav.js';
import { connectRedis } from '../../src/queue/queueContext.js';
import { type ChatBotHarness, startChatBotHarness, stopCli } from '../support/chatBotHarness.js';
import { runCli } from '../support/cli.js';
import { type FakeDiscord, type RecordedRequest, startFakeDiscord } from '../support/fakeDiscord.js';
import { testSong } from '../support/signals.js';
import { dropTestKeys, TEST_REDIS_URL, testPrefix } from '../support/testRedis.js';

const ORIGINAL = '/webhooks/:app/:token/messages/@original';
const CALLBACK = '/interactions/:id/:token/callback';
const CHANNEL_MESSAGES = '/channels/:channel/messages';
const OPTION = ApplicationCommandOptionType;

let harness: ChatBotHarness;

function start(command: 'bot' | 'worker', fake: FakeDiscord, prefix: string, env: NodeJS.ProcessEnv = {}) {
  return harness.start(command, prefix, { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl, ...env });
}

/**
 * A fake Discord with a bot and a worker on it, ready; `close` stops them and checks that no log line of either
 * holds the bot token.
 */
async function startDiscordPair(
  prefix: string,
  env: { bot?: NodeJS.ProcessEnv; worker?: NodeJS.ProcessEnv },
) {
  const fake = await startFakeDiscord();
  const redis = connectRedis(TEST_REDIS_URL);
  const worker = start('worker', fake, prefix, env.worker);
  const bot = start('bot', fake, prefix, env.bot);
  await Promise.all([worker.waitFor('worker ready', 60_000), bot.waitFor('discord bot ready', 30_000)]);
  return {
    fake,
    async close() {
      await Promise.all([stopCli(bot), stopCli(worker)]);
      const logs = bot.stderr() + worker.stderr();
      await fake.close();
      await dropTestKeys(redis, prefix);
      redis.disconnect();
      assert.ok(!logs.includes(fake.token), 'the bot token appears in no log line');
    },
  };
}

/** A WAV song on the fake CDN, as an attachment. */
function songAttachment(fake: FakeDiscord, name: string, seconds: number, seed: number) {
  const content = Buffer.from(encodeWav(testSong(Math.round(seconds * 44100), seed), 'f32'));
  return fake.addAttachment({ filename: name, content, contentType: 'audio/x-wav' });
}

/** The requests of one interaction (its token is in the path of the callback and the webhook routes). */
const forToken = (request: RecordedRequest, token: string) =>
  request.path.includes(`/${token}/`) || request.path.endsWith(`/${token}`);

/** The answer: a successful edit of the original response with the result embed. */
function resultEdit(fake: FakeDiscord, token: string, timeoutMs = 60_000) {
  return fake.waitFor(
    () =>
      fake
        .requestsTo('PATCH', ORIGINAL)
        .find(
          (request) => forToken(request, token) && request.status === 200 && request.body?.embeds?.length > 0,
        ),
    timeoutMs,
  );
}

const isMp3 = (bytes: Buffer) =>
  bytes.subarray(0, 3).toString('latin1') === 'ID3' || (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0);
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Checks a message body with stems: the named stem files, the spectrogram as the embed image, the stats. With
 * `pictureLimit`, the picture may be left out (it did not fit), but if it went it is within the limit.
 */
function assertStems(
  request: RecordedRequest,
  stems: readonly string[],
  extension: string,
  pictureLimit?: number,
) {
  const picture = request.files.find((file) => file.name === 'spectrogram.png');
  const names = request.files.map((file) => file.name.replace(/^.* - /, ''));
  assert.deepEqual(
    names,
    [
      ...stems.map((stem) => `${stem}.${extension}`),
      ...(picture || pictureLimit === undefined ? ['spectrogram.png'] : []),
    ],
    `stem files and picture: ${names.join(', ')}`,
  );
  const embed = request.body.embeds[0];
  if (picture) {
    assert.ok(picture.content.subarray(0, 8).equals(PNG_MAGIC), 'the spectrogram is a PNG');
    assert.ok(
      picture.content.length <= (pictureLimit ?? Infinity),
      `the picture fits: ${picture.content.length} B`,
    );
    assert.equal(embed.image.url, 'attachment://spectrogram.png', 'the picture is the embed image');
  } else {
    assert.equal(embed.image, undefined, 'no picture, no embed image');
  }
  assert.match(embed.description, /Engine: repet on cpu/, 'the stats are in the embed');
  assert.match(embed.description, /of audio in/, 'the stats give the processing time');
}

/** Whether the fake CDN served the file behind `url`. */
const downloaded = (fake: FakeDiscord, url: string) =>
  fake.downloads.includes(decodeURIComponent(new URL(url).pathname));

/** A port nobody listens on now, for a status server whose address must be known before it starts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

before(async () => {
  harness = await startChatBotHarness('discord');
});

after(() => harness.close());

describe('Discord: songs in, stems out', () => {
  let fake: FakeDiscord;
  let publicUrl: string;
  let close: () => Promise<void>;

  before(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    ({ fake, close } = await startDiscordPair(testPrefix('discord'), {
      worker: {
        STEMBOT_HTTP_PORT: String(port),
        STEMBOT_PUBLIC_URL: publicUrl,
        STEMBOT_LINK_SECRET: 'a-test-secret-of-at-least-32-characters!',
        STEMBOT_DOWNLOADS_DIR: join(harness.dir, 'downloads'),
      },
    }));
  });

  after(() => close());

  it('connects with the Guilds intent only, at the gateway address GET /gateway/bot gave', async () => {
    const gateway = fake.requestsTo('GET', '/gateway/bot');
    assert.ok(gateway.length >= 1, 'the bot asked where the gateway is');
    assert.equal(gateway[0].auth, `Bot ${fake.token}`, 'with its bot token');
    assert.equal(fake.identifies.length, 1, 'one IDENTIFY');
    assert.equal(fake.identifies[0].intents, 1, 'intents: GUILDS (1 << 0) and nothing privileged');
  });

  it('/separate with an attachment: deferred at once, a queued status with Cancel, then three MP3 stems, picture and stats', async () => {
    const song = songAttachment(fake, 'My Song.wav', 6, 1);
    const interaction = fake.slashCommand({
      name: 'separate',
      options: [{ name: 'song', type: OPTION.Attachment, attachment: song }],
    });
    const deferral = await fake.waitFor(() =>
      fake.requestsTo('POST', CALLBACK).find((request) => forToken(request, interaction.token)),
    );
    assert.equal(deferral.body.type, 5, 'DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE');
    assert.ok(
      !(Number(deferral.body.data?.flags ?? 0) & 64),
      'the deferral is public (the stems are for the channel)',
    );
    assert.ok(deferral.status < 300, `the deferral was accepted (${deferral.status}) within Discord's 3 s`);

    const queued = await fake.waitFor(() =>
      fake
        .requestsTo('PATCH', ORIGINAL)
        .find(
          (request) =>
            forToken(request, interaction.token) &&
            /In queue|Separating|Downloading|Reading/.test(request.body?.content ?? ''),
        ),
    );
    assert.match(queued.body.content, /🎵 My Song/, 'the status names the song');
    const button = queued.body.components[0].components[0];
    assert.match(button.custom_id, /^cancel:/, 'a Cancel button under the status');

    const result = await resultEdit(fake, interaction.token);
    assertStems(result, ['Vocals', 'Music', 'Bleeding_in_Music'], 'mp3');
    for (const file of result.files.slice(0, 3)) assert.ok(isMp3(file.content), `${file.name} is MP3`);
    assert.deepEqual(result.body.components, [], 'the Cancel button is gone');
    assert.match(result.body.embeds[0].title, /My Song/, 'the embed names the song');
    assert.ok(downloaded(fake, song.url), 'the worker downloaded the attachment from the CDN itself');
  });

  it('/separate with preset, stems and format: two FLAC stems', async () => {
    const song = songAttachment(fake, 'flac-me.wav', 5, 2);
    const interaction = fake.slashCommand({
      name: 'separate',
      options: [
        { name: 'song', type: OPTION.Attachment, attachment: song },
        { name: 'preset', type: OPTION.String, value: 'fast' },
        { name: 'stems', type: OPTION.String, value: 'vocals,music' },
        { name: 'format', type: OPTION.String, value: 'flac' },
      ],
    });
    const result = await resultEdit(fake, interaction.token);
    assertStems(result, ['Vocals', 'Music'], 'flac');
    for (const file of result.files.slice(0, 2))
      assert.equal(file.content.subarray(0, 4).toString('latin1'), 'fLaC', `${file.name} is FLAC`);
    assert.match(result.body.embeds[0].description, /preset fast/, 'the preset asked for');
  });

  it('"Separate stems" on a message with a picture and a song: the song is taken', async () => {
    const cover = fake.addAttachment({ filename: 'cover.png', content: PNG_MAGIC, contentType: 'image/png' });
    const song = songAttachment(fake, 'band-take.wav', 5, 3);
    const interaction = fake.messageCommand({
      name: 'Separate stems',
      target: { content: 'our new take!', attachments: [cover, song] },
    });
    const result = await resultEdit(fake, interaction.token);
    assertStems(result, ['Vocals', 'Music', 'Bleeding_in_Music'], 'mp3');
    assert.ok(
      downloaded(fake, song.url) && !downloaded(fake, cover.url),
      'the song was downloaded, the picture was not',
    );
  });

  it('/separate with a link', async () => {
    const interaction = fake.slashCommand({
      name: 'separate',
      options: [{ name: 'link', type: OPTION.String, value: `${harness.songBase}/linked.wav` }],
    });
    const result = await resultEdit(fake, interaction.token);
    assertStems(result, ['Vocals', 'Music', 'Bleeding_in_Music'], 'mp3');
  });

  it('files over the interaction attachment_size_limit: a smaller MP3, with signed links to the full files', async () => {
    const song = songAttachment(fake, 'boosted.wav', 6, 4);
    // MP3 320 of 6 s is about 260 kB a stem; 192 kbit/s (about 160 kB) fits 200 000 bytes less the margin.
    const interaction = fake.slashCommand({
      name: 'separate',
      attachmentSizeLimit: 200_000,
      options: [{ name: 'song', type: OPTION.Attachment, attachment: song }],
    });
    const result = await resultEdit(fake, interaction.token);
    assertStems(result, ['Vocals', 'Music', 'Bleeding_in_Music'], 'mp3', 190_000);
    for (const file of result.files)
      assert.ok(file.content.length <= 190_000, `${file.name}: ${file.content.length} B`);
    const description: string = result.body.embeds[0].description;
    assert.match(description, /Sent as MP3 192 kbit\/s: MP3 would be over Discord's 200 kB per file/);
    const links = [...description.matchAll(/https?:\/\/\S+/g)].map((match) => match[0]);
    assert.equal(links.length, 3, `a link per stem:\n${description}`);
    assert.ok(
      links.every((link) => link.startsWith(publicUrl)),
      'links on the public URL',
    );
    const full = await fetch(links[0]);
    assert.equal(full.status, 200, 'the link serves the file');
    const bytes = Buffer.from(await full.arrayBuffer());
    assert.ok(
      isMp3(bytes) && bytes.length > result.files[0].content.length,
      'the full MP3 320, bigger than the one sent',
    );
  });

  it('nothing fits: only the picture and stats go as files, the stems as links', async () => {
    const song = songAttachment(fake, 'tiny-limit.wav', 6, 5);
    const interaction = fake.slashCommand({
      name: 'separate',
      attachmentSizeLimit: 40_000,
      options: [{ name: 'song', type: OPTION.Attachment, attachment: song }],
    });
    const result = await resultEdit(fake, interaction.token);
    // the picture comes only if it fits too; no stem file does
    assert.ok(
      result.files.every((file) => file.name === 'spectrogram.png' && file.content.length <= 38_000),
      `no stem file: ${result.files.map((file) => `${file.name} ${file.content.length} B`).join(', ')}`,
    );
    const description: string = result.body.embeds[0].description;
    assert.match(description, /40 kB this chat takes per file: here is a link to the MP3 320 kbit\/s files/);
    assert.equal([...description.matchAll(/https?:\/\/\S+/g)].length, 3, 'three links');
  });

  it('Discord refusing the size it announced (413): the stems are fitted again below what failed', async () => {
    const song = songAttachment(fake, 'refit.wav', 6, 6);
    // Discord announces 10 MiB here but refuses anything over 200 000 bytes.
    const interaction = fake.slashCommand({
      name: 'separate',
      enforcedUploadLimit: 200_000,
      options: [{ name: 'song', type: OPTION.Attachment, attachment: song }],
    });
    const result = await resultEdit(fake, interaction.token);
    const refused = fake
      .requestsTo('PATCH', ORIGINAL)
      .find((request) => forToken(request, interaction.token) && request.status === 413);
    assert.ok(refused, 'the first upload was refused');
    const largest = (request: RecordedRequest) =>
      Math.max(
        ...request.files.filter((file) => file.name !== 'spectrogram.png').map((file) => file.content.length),
      );
    assert.ok(largest(result) < largest(refused), `fitted below ${largest(refused)} B: ${largest(result)} B`);
    assertStems(result, ['Vocals', 'Music', 'Bleeding_in_Music'], 'mp3', 200_000);
  });

  it('the token dies before the stems are ready: they are posted in the channel, replying to the status message', async () => {
    const song = songAttachment(fake, 'late.wav', 6, 7);
    const interaction = fake.slashCommand({
      name: 'separate',
      options: [{ name: 'song', type: OPTION.Attachment, attachment: song }],
    });
    await fake.waitFor(() =>
      fake
        .requestsTo('PATCH', ORIGINAL)
        .find(
          (request) =>
            forToken(request, interaction.token) &&
            request.status === 200 &&
            /cancel:/.test(JSON.stringify(request.body.components ?? [])),
        ),
    );
    fake.expireToken(interaction.token);
    const statusId = [...fake.messages.values()].find(
      (message) => message.interaction_token === interaction.token,
    )?.id;
    assert.ok(statusId, 'the status message (the original response) exists');
    const posted = await fake.waitFor(
      () =>
        fake
          .requestsTo('POST', CHANNEL_MESSAGES)
          .find(
            (request) => request.status === 200 && request.body?.message_reference?.message_id === statusId,
          ),
      60_000,
    );
    assertStems(posted, ['Vocals', 'Music', 'Bleeding_in_Music'], 'mp3');
    assert.equal(posted.auth, `Bot ${fake.token}`, 'posted with the bot token');
    assert.equal(posted.body.content, `<@${interaction.payload.member?.user.id}>`, 'mentioning who asked');
    assert.deepEqual(
      posted.body.allowed_mentions,
      { users: [interaction.payload.member?.user.id] },
      'and only them',
    );
    const closed = await fake.waitFor(() =>
      fake
        .requestsTo('PATCH', '/channels/:channel/messages/:message')
        .find((request) => request.path.endsWith(`/${statusId}`)),
    );
    assert.match(closed.body.content, /Done/, 'the old status message says where the stems are');
    assert.deepEqual(closed.body.components, [], 'and loses its Cancel button');
  });

  it('a job that ends after the token: straight to the channel, replying to the song message', async () => {
    const song = songAttachment(fake, 'old-token.wav', 5, 9);
    // created 14 minutes ago: the token has less than the upload margin left when the stems are ready
    const interaction = fake.messageCommand({
      name: 'Separate stems',
      createdAt: Date.now() - 14 * 60_000,
      target: { attachments: [song] },
    });
    const targetId = (interaction.payload.data as { target_id: string }).target_id;
    const posted = await fake.waitFor(
      () =>
        fake
          .requestsTo('POST', CHANNEL_MESSAGES)
          .find(
            (request) => request.status === 200 && request.body?.message_reference?.message_id === targetId,
          ),
      60_000,
    );
    assertStems(posted, ['Vocals', 'Music', 'Bleeding_in_Music'], 'mp3');
    assert.ok(
      !fake
        .requestsTo('PATCH', ORIGINAL)
        .some((request) => forToken(request, interaction.token) && request.body?.embeds?.length > 0),
      'no attempt to put the stems on the interaction whose token was about to die',
    );
  });

  it('a message command whose channel refuses the bot, after the token: the stems come by DM', async () => {
    const channelId = '1300000000000000077';
    fake.refuseChannel(channelId, 50001);
    const song = songAttachment(fake, 'dm-me.wav', 5, 8);
    const interaction = fake.messageCommand({
      name: 'Separate stems',
      channelId,
      target: { attachments: [song] },
    });
    await fake.waitFor(() =>
      fake
        .requestsTo('PATCH', ORIGINAL)
        .find(
          (request) =>
            forToken(request, interaction.token) &&
            /cancel:/.test(JSON.stringify(request.body?.components ?? [])),
        ),
    );
    fake.expireToken(interaction.token);
    const refusedInChannel = await fake.waitFor(
      () =>
        fake
          .requestsTo('POST', CHANNEL_MESSAGES)
          .find((request) => request.path.includes(`/channels/${channelId}/`) && request.status === 403),
      60_000,
    );
    assert.equal(
      refusedInChannel.body.message_reference.message_id,
      (interaction.payload.data as { target_id: string }).target_id,
      'the channel answer replied to the song message',
    );
    const dm = await fake.waitFor(() =>
      fake.requestsTo('POST', '/users/@me/channels').find((request) => request.status === 200),
    );
    assert.equal(dm.body.recipient_id, interaction.payload.member?.user.id, 'a DM to the user who asked');
    const posted = await fake.waitFor(() =>
      fake
        .requestsTo('POST', CHANNEL_MESSAGES)
        .find(
          (request) =>
            request.at >= dm.at &&
            !request.path.includes(`/channels/${channelId}/`) &&
            request.status === 200 &&
            request.files.length === 4,
        ),
    );
    assertStems(posted, ['Vocals', 'Music', 'Bleeding_in_Music'], 'mp3');
  });
});

/** The ephemeral message an interaction got: an immediate reply (type 4) or a follow-up, flags 64. */
function ephemeralTo(fake: FakeDiscord, token: string, timeoutMs = 20_000) {
  return fake.waitFor(() => {
    const reply = fake
      .requestsTo('POST', CALLBACK)
      .find((request) => forToken(request, token) && request.body?.type === 4);
    if (reply && Number(reply.body.data?.flags ?? 0) & 64) return String(reply.body.data.content);
    const followUp = fake
      .requestsTo('POST', '/webhooks/:app/:token')
      .find((request) => forToken(request, token) && Number(request.body?.flags ?? 0) & 64);
    return followUp ? String(followUp.body.content) : undefined;
  }, timeoutMs);
}

describe('Discord: /mix', () => {
  let fake: FakeDiscord;
  let close: () => Promise<void>;

  before(async () => {
    ({ fake, close } = await startDiscordPair(testPrefix('discord-mix'), {}));
  });

  after(() => close());

  it('a vocal and a backing attachment: one MP3 mix, every decision of the mixer in the embed', async () => {
    const vocal = songAttachment(fake, 'take.wav', 6, 21);
    const backing = songAttachment(fake, 'backing.wav', 8, 22);
    const interaction = fake.slashCommand({
      name: 'mix',
      options: [
        { name: 'vocal', type: OPTION.Attachment, attachment: vocal },
        { name: 'backing', type: OPTION.Attachment, attachment: backing },
      ],
    });
    const result = await resultEdit(fake, interaction.token);
    const mixes = result.files.filter((file) => !file.name.endsWith('.png'));
    assert.equal(mixes.length, 1, `one mixed file: ${result.files.map((file) => file.name).join(', ')}`);
    assert.match(mixes[0].name, /^backing.*Mix\.mp3$/, 'named after the backing track');
    assert.ok(isMp3(mixes[0].content), 'the mix is an MP3');
    const description: string = result.body.embeds[0].description;
    assert.match(description, /Engine: mixer on cpu · preset auto mix/);
    assert.match(description, /0:08 of audio in/, 'as long as the longer input');
    assert.match(description, /Vocal −?\d+\.\d LUFS \(6\.0 s\), backing −?\d+\.\d LUFS \(8\.0 s\)/);
    assert.match(description, /EQ/, 'the EQ decision');
    assert.match(description, /Compression: /, 'the compression decision');
    assert.match(description, /Reverb: tempo \d+ BPM .* → \d\.\d\d s, 60 % dry \/ 40 % wet/);
    assert.match(description, /Level: vocal [+−]\d+\.\d dB → −0\.5 LU against the backing/);
    for (const attachment of [vocal, backing])
      assert.ok(downloaded(fake, attachment.url), `the worker downloaded ${attachment.filename}`);
  });

  it('preset Guide vocal with guide_db and FLAC: the vocal 9 dB down, nothing else', async () => {
    const vocal = songAttachment(fake, 'stem-vocals.wav', 5, 23);
    const backing = songAttachment(fake, 'stem-music.wav', 5, 24);
    const interaction = fake.slashCommand({
      name: 'mix',
      options: [
        { name: 'vocal', type: OPTION.Attachment, attachment: vocal },
        { name: 'backing', type: OPTION.Attachment, attachment: backing },
        { name: 'preset', type: OPTION.String, value: 'guide' },
        { name: 'guide_db', type: OPTION.Integer, value: 9 },
        { name: 'format', type: OPTION.String, value: 'flac' },
      ],
    });
    const result = await resultEdit(fake, interaction.token);
    const [mix] = result.files;
    assert.equal(mix.content.subarray(0, 4).toString('latin1'), 'fLaC', 'FLAC asked, FLAC sent');
    const description: string = result.body.embeds[0].description;
    assert.match(description, /preset guide vocal/);
    assert.match(description, /Guide vocal: −9\.0 dB, no other processing/);
    assert.doesNotMatch(description, /Compression|Reverb/, 'a guide vocal is not processed');
  });

  it('/separate with the Guide stem: the Music with the Vocals exactly 12 dB down', async () => {
    const song = songAttachment(fake, 'sing-along.wav', 5, 26);
    const interaction = fake.slashCommand({
      name: 'separate',
      options: [
        { name: 'song', type: OPTION.Attachment, attachment: song },
        { name: 'stems', type: OPTION.String, value: 'vocals,music,guide' },
        { name: 'format', type: OPTION.String, value: 'flac' },
      ],
    });
    const result = await resultEdit(fake, interaction.token);
    const byName = (part: string) => {
      const file = result.files.find((f) => f.name.includes(part));
      assert.ok(file, `a file named …${part}…: ${result.files.map((f) => f.name).join(', ')}`);
      return file.content;
    };
    const decode = async (name: string, content: Buffer) => {
      const path = join(harness.dir, name);
      await writeFile(path, content);
      return (await decodeAudio(locateFfmpeg(), path, { maxDurationS: 60, maxChannels: 2 })).audio;
    };
    const vocals = await decode('guide-vocals.flac', byName('Vocals'));
    const music = await decode('guide-music.flac', byName('Music.flac'));
    const guide = await decode('guide.flac', byName('Music with guide vocal'));
    const gain = 10 ** (-12 / 20);
    let worst = 0;
    for (const key of ['left', 'right'] as const) {
      for (let i = 0; i < guide[key].length; i++) {
        worst = Math.max(worst, Math.abs(guide[key][i] - (music[key][i] + gain * vocals[key][i])));
      }
    }
    // three 24-bit FLACs: each sample rounded to 2^-24, so the identity holds to a few of those
    assert.ok(worst < 1e-6, `guide − (music + vocals·10^(−12/20)) at most ${worst}`);
    assert.match(result.body.embeds[0].footer.text, /Guide|guide/);
  });

  it('refuses a vocal that is not audio, ephemerally and at once', async () => {
    const pdf = fake.addAttachment({
      filename: 'lyrics.pdf',
      content: Buffer.from('%PDF-1.4'),
      contentType: 'application/pdf',
    });
    const backing = songAttachment(fake, 'backing2.wav', 3, 25);
    const interaction = fake.slashCommand({
      name: 'mix',
      options: [
        { name: 'vocal', type: OPTION.Attachment, attachment: pdf },
        { name: 'backing', type: OPTION.Attachment, attachment: backing },
      ],
    });
    const text = await ephemeralTo(fake, interaction.token);
    assert.match(text, /^Vocal recording: ❌ “lyrics\.pdf” \(application\/pdf\) is not audio or video/);
  });
});

describe('Discord: refusals, errors, cancel and admin commands', () => {
  const ADMIN = '1400000000000000099';
  const OWNER = { id: '1400000000000000010', username: 'singer' };
  const OTHER = { id: '1400000000000000011', username: 'heckler' };
  let fake: FakeDiscord;
  let close: () => Promise<void>;

  before(async () => {
    const limits = {
      STEMBOT_ALLOW_PRIVATE_URLS: '0',
      STEMBOT_MAX_JOBS_IN_FLIGHT: '1',
      STEMBOT_MAX_INPUT_MB: '1',
      DISCORD_ADMIN_IDS: ADMIN,
    };
    ({ fake, close } = await startDiscordPair(testPrefix('discord-refusals'), {
      bot: limits,
      worker: limits,
    }));
  });

  after(() => close());

  it('refuses at once, ephemerally and with a reason, what the payload shows is no song', async () => {
    const cases: [string, ReturnType<FakeDiscord['slashCommand']>, RegExp][] = [
      ['no song', fake.slashCommand({ name: 'separate' }), /Attach a song with the `song` option/],
      [
        'a PDF',
        fake.slashCommand({
          name: 'separate',
          options: [
            {
              name: 'song',
              type: OPTION.Attachment,
              attachment: fake.addAttachment({
                filename: 'score.pdf',
                content: Buffer.from('%PDF-1.4'),
                contentType: 'application/pdf',
              }),
            },
          ],
        }),
        /“score\.pdf” \(application\/pdf\) is not audio or video/,
      ],
      [
        'a file over STEMBOT_MAX_INPUT_MB',
        fake.slashCommand({
          name: 'separate',
          options: [
            { name: 'song', type: OPTION.Attachment, attachment: songAttachment(fake, 'big.wav', 4, 1) },
          ],
        }),
        /the largest song I take is 1/,
      ],
      [
        'a voice message over the length limit',
        fake.slashCommand({
          name: 'separate',
          options: [
            {
              name: 'song',
              type: OPTION.Attachment,
              attachment: fake.addAttachment({
                filename: 'voice-message.ogg',
                content: Buffer.from('OggS'),
                contentType: 'audio/ogg',
                durationSecs: 3600,
              }),
            },
          ],
        }),
        /1:00:00 long; the longest I take is 20:00/,
      ],
      [
        'text that is no link',
        fake.slashCommand({
          name: 'separate',
          options: [{ name: 'link', type: OPTION.String, value: 'my favourite song' }],
        }),
        /is not a link/,
      ],
      [
        'a message without a song',
        fake.messageCommand({ name: 'Separate stems', target: { content: 'hello everyone' } }),
        /has no audio or video file and no link/,
      ],
      [
        'a command this bot no longer has',
        fake.slashCommand({ name: 'karaoke' }),
        /I do not know this command/,
      ],
    ];
    for (const [what, interaction, expected] of cases) {
      const text = await ephemeralTo(fake, interaction.token);
      assert.match(text, expected, what);
      assert.ok(
        !fake
          .requestsTo('POST', CALLBACK)
          .some((request) => forToken(request, interaction.token) && request.body.type === 5),
        `${what}: answered without a deferral`,
      );
    }
    assert.equal(fake.downloads.length, 0, 'nothing was downloaded');
  });

  it('a link to a private address: deferred, then the public response removed and the refusal told ephemerally', async () => {
    const interaction = fake.slashCommand({
      name: 'separate',
      options: [{ name: 'link', type: OPTION.String, value: 'http://169.254.169.254/latest/meta-data' }],
    });
    assert.match(await ephemeralTo(fake, interaction.token), /^❌ .*(private|internal|local)/i);
    assert.ok(
      fake.requestsTo('DELETE', ORIGINAL).some((request) => forToken(request, interaction.token)),
      'the public "thinking…" response was deleted',
    );
  });

  it('a file that is not audio inside: the worker says so ephemerally and removes the status', async () => {
    const fakeMp3 = fake.addAttachment({
      filename: 'fake.mp3',
      content: Buffer.from('this is not audio at all'.repeat(50)),
      contentType: 'audio/mpeg',
    });
    const interaction = fake.slashCommand({
      name: 'separate',
      user: OTHER,
      options: [{ name: 'song', type: OPTION.Attachment, attachment: fakeMp3 }],
    });
    const text = await ephemeralTo(fake, interaction.token, 60_000);
    assert.match(text, /^❌ /, 'a failure notice');
    await fake.waitFor(() =>
      fake.requestsTo('DELETE', ORIGINAL).find((request) => forToken(request, interaction.token)),
    );
    assert.equal(
      fake.downloads.filter((path) => path.endsWith('/fake.mp3')).length,
      1,
      'downloaded once: no retry of bad input',
    );
  });

  it('over the in-flight quota: refused; Cancel: refused to others, done for the owner', async () => {
    const first = fake.slashCommand({
      name: 'separate',
      user: OWNER,
      options: [
        { name: 'song', type: OPTION.Attachment, attachment: songAttachment(fake, 'long.wav', 2.5, 2) },
      ],
    });
    const queued = await fake.waitFor(() =>
      fake
        .requestsTo('PATCH', ORIGINAL)
        .find(
          (request) =>
            forToken(request, first.token) && /cancel:/.test(JSON.stringify(request.body?.components ?? [])),
        ),
    );
    const second = fake.slashCommand({
      name: 'separate',
      user: OWNER,
      options: [
        { name: 'song', type: OPTION.Attachment, attachment: songAttachment(fake, 'second.wav', 2, 3) },
      ],
    });
    assert.match(
      await ephemeralTo(fake, second.token),
      /^❌ .*(in progress|at a time|wait)/i,
      'the quota refusal',
    );

    const customId = queued.body.components[0].components[0].custom_id as string;
    const statusId = [...fake.messages.values()].find(
      (message) => message.interaction_token === first.token,
    )?.id;
    const stranger = fake.buttonPress({ customId, messageId: statusId, user: OTHER });
    assert.match(await ephemeralTo(fake, stranger.token), /Only the person who sent this song can cancel it/);
    const owner = fake.buttonPress({ customId, messageId: statusId, user: OWNER });
    const update = await fake.waitFor(() =>
      fake.requestsTo('POST', CALLBACK).find((request) => forToken(request, owner.token)),
    );
    assert.equal(update.body.type, 7, 'UPDATE_MESSAGE on the status');
    assert.match(update.body.data.content, /Cancelled/);
    assert.deepEqual(update.body.data.components, [], 'the button is gone');
    // the slot is free again: the next song queues
    const third = fake.slashCommand({
      name: 'separate',
      user: OWNER,
      options: [
        { name: 'song', type: OPTION.Attachment, attachment: songAttachment(fake, 'third.wav', 2, 4) },
      ],
    });
    await resultEdit(fake, third.token);
    assert.ok(
      !fake
        .requestsTo('PATCH', ORIGINAL)
        .some((request) => forToken(request, first.token) && request.body?.embeds?.length > 0),
      'the cancelled song got no stems',
    );
  });

  it('/stats for the admins only, /help for everyone, both ephemeral', async () => {
    const refused = fake.slashCommand({ name: 'stats', user: OTHER });
    assert.match(await ephemeralTo(fake, refused.token), /is for the admins of this bot/);
    const stats = fake.slashCommand({ name: 'stats', user: { id: ADMIN, username: 'operator' } });
    const deferral = await fake.waitFor(() =>
      fake.requestsTo('POST', CALLBACK).find((request) => forToken(request, stats.token)),
    );
    assert.equal(deferral.body.type, 5, 'deferred');
    assert.equal(Number(deferral.body.data.flags) & 64, 64, 'ephemerally');
    const answer = await fake.waitFor(() =>
      fake
        .requestsTo('PATCH', ORIGINAL)
        .find((request) => forToken(request, stats.token) && request.status === 200),
    );
    assert.match(answer.body.content, /Workers/i, 'the stats of queue and workers');
    const help = fake.slashCommand({ name: 'help', attachmentSizeLimit: 26_214_400 });
    const text = await ephemeralTo(fake, help.token);
    assert.match(text, /Separate stems/, 'help names the message command');
    assert.match(text, /26\.2 MB/, "help gives this channel's upload limit");
  });
});

describe('Discord: with Redis down', () => {
  it('says the queue is unavailable, ephemerally, and queues nothing', async () => {
    const fake = await startFakeDiscord();
    const bot = start('bot', fake, testPrefix('discord-down'), { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      await bot.waitFor('discord bot ready', 30_000);
      const interaction = fake.slashCommand({
        name: 'separate',
        options: [
          { name: 'song', type: OPTION.Attachment, attachment: songAttachment(fake, 'down.wav', 1, 5) },
        ],
      });
      assert.match(await ephemeralTo(fake, interaction.token), /queue is unavailable/);
    } finally {
      await stopCli(bot);
      await fake.close();
    }
  });
});

describe('stembot discord register', () => {
  it('puts the five commands globally, or in one server, and refuses a bad server id', async () => {
    const fake = await startFakeDiscord();
    try {
      const env = { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl };
      const global = await runCli(['discord', 'register'], env);
      assert.equal(global.code, 0, global.stderr);
      assert.match(global.stdout, /Registered 5 commands .* globally/);
      assert.deepEqual(
        fake.registeredCommands().map((command) => command.name),
        ['separate', 'Separate stems', 'mix', 'stats', 'help'],
      );
      const guild = await runCli(['discord', 'register', '--guild', '1200000000000000001'], env);
      assert.equal(guild.code, 0, guild.stderr);
      assert.equal(fake.registeredCommands('1200000000000000001').length, 5, 'in the server');
      const bad = await runCli(['discord', 'register', '--guild', 'my-server'], env);
      assert.equal(bad.code, 2, 'a bad server id is a usage error');
      assert.match(bad.stderr, /--guild must be a server id/);
    } finally {
      await fake.close();
    }
  });
});
