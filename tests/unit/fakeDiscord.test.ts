/**
 * Drives the fake Discord with the real discord.js client and @discordjs/rest, to show it answers as Discord
 * does for what the bot relies on: gateway login, interactions with attachments, deferred and multipart
 * replies, the CDN's expiring URLs, acknowledgement and token rules, rate limits and refusals.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  ApplicationCommandOptionType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  InteractionResponseType,
  MessageFlags,
  REST,
  Routes,
  type Interaction,
} from 'discord.js';
import { startFakeDiscord, type FakeDiscord } from '../support/fakeDiscord.js';

const GUILD_ID = '1200000000000000001';
const CHANNEL_ID = '1300000000000000001';
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

/** Matches a DiscordAPIError with this HTTP status and Discord error code. */
function discordError(status: number, code: number): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof DiscordAPIError, `expected a DiscordAPIError, got ${String(error)}`);
    assert.equal(error.status, status, `HTTP status of "${error.message}"`);
    assert.equal(error.code, code, `Discord error code of "${error.message}"`);
    return true;
  };
}

describe('fake Discord', () => {
  let fake: FakeDiscord;
  let rest: REST;
  const clients: Client[] = [];

  beforeEach(async () => {
    fake = await startFakeDiscord();
    rest = new REST({ api: fake.apiUrl }).setToken(fake.token);
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.destroy();
    await fake.close();
  });

  /** A logged-in, ready discord.js client on the fake. */
  async function loggedInClient(): Promise<Client> {
    const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
    clients.push(client);
    const ready = once(client, Events.ClientReady);
    await client.login(fake.token);
    await ready;
    return client;
  }

  /** The next interaction the client emits. */
  async function nextInteraction(client: Client): Promise<Interaction> {
    const [interaction] = (await once(client, Events.InteractionCreate)) as [Interaction];
    return interaction;
  }

  it('logs a discord.js client in over the gateway with the Guilds intent', async () => {
    const client = await loggedInClient();
    assert.equal(client.user?.id, fake.applicationId, 'READY should make the bot user the client user');
    assert.equal(fake.identifies.length, 1, 'the client should identify once');
    assert.equal(
      fake.identifies[0].intents,
      GatewayIntentBits.Guilds,
      'IDENTIFY should carry the Guilds intent',
    );
    assert.equal(fake.identifies[0].compress, false, 'discord.js without zlib-sync asks for no compression');
    const [gateway] = fake.requestsTo('GET', '/gateway/bot');
    assert.ok(gateway, 'the client should fetch GET /gateway/bot');
    assert.equal(gateway.auth, `Bot ${fake.token}`, 'REST calls should carry the bot token');
    assert.ok(client.guilds.cache.has(GUILD_ID), 'GUILD_CREATE should put the default guild in the cache');
  });

  it('resumes the session when the gateway asks for a reconnect', async () => {
    const client = await loggedInClient();
    const resumed = once(client, Events.ShardResume);
    fake.requestReconnect();
    await resumed;
    assert.equal(fake.identifies.length, 1, 'a resume should not identify again');
    const received = nextInteraction(client);
    fake.slashCommand({ name: 'split' });
    const interaction = await received;
    assert.ok(interaction.isChatInputCommand(), 'interactions should arrive on the resumed session');
  });

  it('delivers a slash command with an attachment and records defer, upload edit and follow-up', async () => {
    const client = await loggedInClient();
    const song = fake.addAttachment({ filename: 'song.mp3', content: Buffer.from('ID3 song bytes') });
    const received = nextInteraction(client);
    const dispatched = fake.slashCommand({
      name: 'split',
      options: [{ name: 'song', type: ApplicationCommandOptionType.Attachment, attachment: song }],
    });
    const interaction = await received;
    assert.ok(
      interaction.isChatInputCommand(),
      'a slash command should arrive as ChatInputCommandInteraction',
    );
    assert.equal(interaction.id, dispatched.id, 'the interaction id should be the dispatched one');
    const attachment = interaction.options.getAttachment('song', true);
    assert.equal(attachment.url, song.url, 'getAttachment should resolve the attachment option');
    assert.equal(attachment.size, song.size, 'the attachment size should come through');
    assert.equal(interaction.attachmentSizeLimit, 10 << 20, 'the default attachment_size_limit is 10 MiB');
    assert.equal(interaction.channel?.id, CHANNEL_ID, 'the channel should be cached from GUILD_CREATE');

    await interaction.deferReply();
    await interaction.editReply({
      content: 'Vocals ready',
      files: [{ attachment: PNG, name: 'spectrogram.png' }],
      embeds: [{ image: { url: 'attachment://spectrogram.png' } }],
    });
    const followUp = await interaction.followUp({
      content: 'only you see this',
      flags: MessageFlags.Ephemeral,
    });

    const [callback] = fake.requestsTo('POST', '/interactions/:id/:token/callback');
    assert.equal(
      callback.body.type,
      InteractionResponseType.DeferredChannelMessageWithSource,
      'deferReply is type 5',
    );
    assert.equal(callback.query.with_response, 'false', 'discord.js sends with_response=false');
    assert.equal(callback.status, 204, 'without with_response the callback answers 204');
    assert.equal(callback.auth, null, 'interaction callbacks go without bot auth');

    const [edit] = fake.requestsTo('PATCH', '/webhooks/:app/:token/messages/@original');
    assert.ok(edit.path.endsWith(`/${dispatched.token}/messages/@original`), `editReply path: ${edit.path}`);
    assert.equal(edit.files.length, 1, 'editReply should upload one file part');
    assert.equal(edit.files[0].field, 'files[0]', 'the file part should be files[0]');
    assert.ok(edit.files[0].content.equals(PNG), 'the uploaded bytes should arrive intact');
    assert.deepEqual(edit.body.attachments, [{ id: '0' }], 'payload_json should describe the file by index');

    const reply = [...fake.messages.values()].find(
      (m) => m.interaction_token === dispatched.token && !m.flags,
    );
    assert.ok(reply, 'the deferred response should be recorded as a message');
    assert.equal(reply.content, 'Vocals ready', 'the edit should fill in the content');
    assert.equal(reply.attachments[0].filename, 'spectrogram.png', 'the upload should become an attachment');
    assert.equal(
      reply.embeds[0].image.url,
      reply.attachments[0].url,
      'attachment:// should resolve to the CDN',
    );
    const download = await fetch(reply.attachments[0].url);
    assert.equal(download.status, 200, 'the uploaded file should be downloadable');
    assert.ok(
      Buffer.from(await download.arrayBuffer()).equals(PNG),
      'the CDN should serve the uploaded bytes',
    );

    const [post] = fake.requestsTo('POST', '/webhooks/:app/:token');
    assert.equal(post.query.wait, 'true', 'followUp should ask for the message back');
    assert.equal(post.body.flags, MessageFlags.Ephemeral, 'the follow-up should be sent ephemeral');
    assert.equal(fake.messages.get(followUp.id)?.flags, MessageFlags.Ephemeral, 'the follow-up is ephemeral');
    assert.notEqual(followUp.id, reply.id, 'a follow-up after the edit should be a new message');
  });

  it('serves attachments until their URL expires and refreshes URLs', async () => {
    const content = Buffer.from('fLaC stems');
    const live = fake.addAttachment({ filename: 'song.flac', content });
    const expired = fake.addAttachment({ filename: 'old.flac', content, ttlMs: 0 });

    const ok = await fetch(live.url);
    assert.equal(ok.status, 200, 'a live URL should be served');
    assert.equal(ok.headers.get('content-type'), 'audio/flac', 'the content type should come from the file');
    assert.ok(Buffer.from(await ok.arrayBuffer()).equals(content), 'the bytes should be served');

    const gone = await fetch(expired.url);
    assert.equal(gone.status, 404, 'an expired URL should be refused');
    assert.equal(await gone.text(), 'This content is no longer available.', 'with Discord’s text');
    const tampered = await fetch(live.url.replace(/hm=[0-9a-f]/, 'hm=x'));
    assert.equal(tampered.status, 404, 'a URL with a wrong signature should be refused');

    const refreshed = (await rest.post('/attachments/refresh-urls', {
      body: { attachment_urls: [expired.url] },
    })) as { refreshed_urls: { original: string; refreshed: string }[] };
    const [entry] = refreshed.refreshed_urls;
    assert.equal(entry.original, expired.url, 'the answer should name the original URL');
    assert.equal(new URL(entry.refreshed).pathname, new URL(expired.url).pathname, 'the path should stay');
    const again = await fetch(entry.refreshed);
    assert.equal(again.status, 200, 'the refreshed URL should be served');
    assert.deepEqual(
      fake.downloads,
      [new URL(live.url).pathname, new URL(expired.url).pathname],
      'only successful downloads should be recorded',
    );
  });

  it('gives a message context-menu command its target message with attachments', async () => {
    const client = await loggedInClient();
    const song = fake.addAttachment({ filename: 'voice.ogg', content: Buffer.from('OggS'), durationSecs: 3 });
    const received = nextInteraction(client);
    const dispatched = fake.messageCommand({
      name: 'Split stems',
      target: { content: 'my song', attachments: [song], authorId: '1400000000000000002' },
    });
    const interaction = await received;
    assert.ok(
      interaction.isMessageContextMenuCommand(),
      'it should arrive as a message context-menu command',
    );
    const target = interaction.targetMessage;
    assert.equal(target.content, 'my song', 'the target content should come through');
    assert.equal(target.author.id, '1400000000000000002', 'the target author should come through');
    assert.equal(target.attachments.first()?.url, song.url, 'the target attachments should be filled');
    assert.equal(target.attachments.first()?.duration, 3, 'duration_secs should come through');

    await interaction.reply({ content: 'Queued' });
    const [callback] = fake.requestsTo('POST', '/interactions/:id/:token/callback');
    assert.equal(callback.body.type, InteractionResponseType.ChannelMessageWithSource, 'reply is type 4');
    const reply = [...fake.messages.values()].find((m) => m.interaction_token === dispatched.token);
    assert.equal(reply?.content, 'Queued', 'the reply should be recorded');
    assert.equal(reply?.message_reference?.message_id, target.id, 'the reply should reference the target');
  });

  it('lets a button press update the message it is on', async () => {
    const client = await loggedInClient();
    const sent = (await rest.post(Routes.channelMessages(CHANNEL_ID), {
      body: {
        content: 'Separating…',
        components: [
          { type: 1, components: [{ type: 2, style: 4, label: 'Cancel', custom_id: 'cancel:1' }] },
        ],
      },
    })) as { id: string };
    const received = nextInteraction(client);
    fake.buttonPress({ customId: 'cancel:1', messageId: sent.id });
    const interaction = await received;
    assert.ok(interaction.isButton(), 'a button press should arrive as ButtonInteraction');
    assert.equal(interaction.customId, 'cancel:1', 'the custom id should come through');
    assert.equal(
      interaction.message.id,
      sent.id,
      'the interaction should carry the message the button is on',
    );

    await interaction.update({ content: 'Cancelled', components: [] });
    const [callback] = fake.requestsTo('POST', '/interactions/:id/:token/callback');
    assert.equal(callback.body.type, InteractionResponseType.UpdateMessage, 'update is type 7');
    const message = fake.messages.get(sent.id);
    assert.equal(message?.content, 'Cancelled', 'the message the button is on should be edited');
    assert.deepEqual(message?.components, [], 'its components should be removed');
  });

  it('fills in a deferred reply with the first follow-up, as Discord does', async () => {
    const client = await loggedInClient();
    const received = nextInteraction(client);
    const dispatched = fake.slashCommand({ name: 'split', guildId: null });
    const interaction = await received;
    assert.ok(interaction.isChatInputCommand(), 'a DM slash command should arrive');
    assert.equal(interaction.guildId, null, 'a DM interaction has no guild');
    const deferral = await interaction.deferReply({ flags: MessageFlags.Ephemeral, withResponse: true });
    const deferred = deferral.resource?.message;
    assert.ok(deferred, 'with_response=true should return the deferred message');
    assert.ok(deferred.flags.has(MessageFlags.Loading), 'a deferred message is loading');
    const followUp = await interaction.followUp({ content: 'Done' });
    assert.equal(followUp.id, deferred.id, 'the first follow-up should edit the deferred message');
    assert.equal(
      followUp.flags.bitfield,
      MessageFlags.Ephemeral,
      'it should stay ephemeral and stop loading',
    );
    const second = await interaction.followUp({ content: 'More' });
    assert.notEqual(second.id, deferred.id, 'later follow-ups are new messages');
    const mine = [...fake.messages.values()].filter((m) => m.interaction_token === dispatched.token);
    assert.equal(mine.length, 2, 'two messages should be recorded for the interaction');
  });

  it('refuses a second acknowledgement, a late callback and edits after the token expired', async () => {
    const client = await loggedInClient();
    const received = nextInteraction(client);
    const dispatched = fake.slashCommand({ name: 'split' });
    const interaction = await received;
    assert.ok(interaction.isChatInputCommand(), 'a slash command should arrive');
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    await assert.rejects(
      client.rest.post(Routes.interactionCallback(interaction.id, interaction.token), {
        body: { type: InteractionResponseType.DeferredChannelMessageWithSource },
        auth: false,
      }),
      discordError(400, 40060),
      'a second acknowledgement is refused',
    );
    fake.expireToken(dispatched.token);
    await assert.rejects(interaction.editReply('too late'), discordError(401, 50027), 'the token is dead');

    const late = await startFakeDiscord({ callbackDeadlineMs: 20 });
    try {
      const slow = late.slashCommand({ name: 'split' });
      await new Promise((resolve) => setTimeout(resolve, 40));
      const lateRest = new REST({ api: late.apiUrl }).setToken(late.token);
      await assert.rejects(
        lateRest.post(Routes.interactionCallback(slow.id, slow.token), {
          body: { type: InteractionResponseType.DeferredChannelMessageWithSource },
          auth: false,
        }),
        discordError(404, 10062),
        'a callback after the deadline is an unknown interaction',
      );
    } finally {
      await late.close();
    }
  });

  it('retries an injected 429 with @discordjs/rest alone and refuses a wrong token', async () => {
    fake.failNext('POST', '/channels/:channel/messages', {
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: 0.2, global: false },
    });
    const sent = (await rest.post(Routes.channelMessages(CHANNEL_ID), {
      body: { content: 'after the rate limit' },
    })) as { content: string };
    const attempts = fake.requestsTo('POST', '/channels/:channel/messages');
    assert.equal(sent.content, 'after the rate limit', 'the retried send should succeed');
    assert.deepEqual(
      attempts.map((r) => r.status),
      [429, 200],
      'the refused attempt and the retry should both be recorded',
    );
    assert.ok(attempts[1].at - attempts[0].at >= 150, 'the retry should wait retry_after');

    const wrong = new REST({ api: fake.apiUrl }).setToken('not-the-token');
    await assert.rejects(wrong.get(Routes.user('@me')), discordError(401, 0), 'a wrong token gets 401');
  });

  it('refuses a channel with 50013 and DMs of a refusing user with 50007; DM channels stay', async () => {
    fake.refuseChannel('1300000000000000009');
    await assert.rejects(
      rest.post(Routes.channelMessages('1300000000000000009'), { body: { content: 'hi' } }),
      discordError(403, 50013),
      'a refused channel answers Missing Permissions',
    );
    const userId = '1400000000000000003';
    const dm = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as {
      id: string;
      type: number;
      recipients: { id: string }[];
    };
    assert.equal(dm.type, 1, 'a DM channel has type 1');
    assert.equal(dm.recipients[0].id, userId, 'the recipient should be the user');
    const again = (await rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as {
      id: string;
    };
    assert.equal(again.id, dm.id, 'the DM channel id should be stable');
    await rest.post(Routes.channelMessages(dm.id), { body: { content: 'your stems' } });
    fake.refuseDm(userId);
    await assert.rejects(
      rest.post(Routes.channelMessages(dm.id), { body: { content: 'more stems' } }),
      discordError(403, 50007),
      'a user refusing DMs answers 50007',
    );
  });

  it('refuses uploads above attachment_size_limit with 413 40005 and keeps commands', async () => {
    const dispatched = fake.slashCommand({ name: 'split', attachmentSizeLimit: 1024 });
    await rest.post(Routes.interactionCallback(dispatched.id, dispatched.token), {
      body: { type: InteractionResponseType.DeferredChannelMessageWithSource, data: { flags: 0 } },
      auth: false,
    });
    const original = Routes.webhookMessage(fake.applicationId, dispatched.token);
    await assert.rejects(
      rest.patch(original, {
        body: { attachments: [{ id: 0 }] },
        files: [{ name: 'big.wav', data: Buffer.alloc(2048) }],
        auth: false,
      }),
      discordError(413, 40005),
      'a file above the limit is refused',
    );
    const edited = (await rest.patch(original, {
      body: { content: 'fits', attachments: [{ id: 0 }] },
      files: [{ name: 'small.wav', data: Buffer.alloc(512) }],
      auth: false,
    })) as { attachments: { filename: string; size: number }[] };
    assert.deepEqual(
      edited.attachments.map((a) => [a.filename, a.size]),
      [['small.wav', 512]],
      'a file within the limit should be attached',
    );

    const commands = [{ name: 'split', description: 'Split a song into stems', type: 1 }];
    const registered = (await rest.put(Routes.applicationCommands(fake.applicationId), {
      body: commands,
    })) as {
      id: string;
      name: string;
    }[];
    assert.equal(registered[0].name, 'split', 'the bulk overwrite should answer the commands');
    assert.ok(/^\d{17,20}$/.test(registered[0].id), 'commands should get snowflake ids');
    const listed = (await rest.get(Routes.applicationCommands(fake.applicationId))) as { id: string }[];
    assert.deepEqual(
      listed.map((c) => c.id),
      [registered[0].id],
      'GET should list what was registered',
    );
    await assert.rejects(
      rest.put(Routes.applicationCommands(fake.applicationId), {
        body: [{ name: 'Split', description: 'x' }],
      }),
      discordError(400, 50035),
      'an invalid command name is refused',
    );
  });
});
