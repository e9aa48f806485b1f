/**
 * Drives the fake Telegram Bot API with the real grammY client, to show it answers as Telegram does for
 * what the end-to-end tests rely on: long polling, uploads, albums, files, flood waits and edits.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { autoRetry } from '@grammyjs/auto-retry';
import { Api, Bot, GrammyError, InputFile, InputMediaBuilder } from 'grammy';
import type { InputMediaAudio, Message } from 'grammy/types';
import { startFakeTelegramApi, type FakeTelegramApi } from '../support/fakeTelegramApi.js';

const CHAT_ID = 4242;
const user = { id: CHAT_ID, is_bot: false, first_name: 'Ada' };

/** Polls `condition` every few milliseconds until it holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('fake Telegram Bot API', () => {
  let fake: FakeTelegramApi;
  let api: Api;

  beforeEach(async () => {
    fake = await startFakeTelegramApi();
    api = new Api(fake.token, { apiRoot: fake.apiRoot });
  });

  afterEach(async () => {
    await fake.close();
  });

  it('delivers a pushed message to a long-polling Bot and records its reply', async () => {
    const bot = new Bot(fake.token, { client: { apiRoot: fake.apiRoot } });
    let seenText: string | undefined;
    bot.on('message', async (ctx) => {
      seenText = ctx.message.text;
      await ctx.reply('got it');
    });
    const running = bot.start();
    fake.pushUpdate({
      message: fake.userMessage({
        chat: { id: CHAT_ID, type: 'private', first_name: 'Ada' },
        from: user,
        text: 'hello',
      }),
    });
    let reply;
    try {
      reply = await fake.waitForCall('sendMessage', undefined, 2000);
    } finally {
      await bot.stop();
      await running;
    }
    assert.equal(seenText, 'hello', 'the handler should see the pushed text');
    assert.equal(reply.params.chat_id, CHAT_ID, 'the reply should go to the chat of the message');
    assert.equal((reply.result as Message).chat.type, 'private', 'the chat type should come from the update');
    assert.ok(fake.pollCount >= 2, `the bot should have polled at least twice, polled ${fake.pollCount}`);
  });

  it('records an uploaded audio album and refuses audio mixed with a photo', async () => {
    const stems = ['Vocals', 'Music', 'Bleed'].map((title) =>
      InputMediaBuilder.audio(new InputFile(Buffer.from(`${title} bytes`), `${title}.mp3`), {
        title,
        performer: 'Stembot',
      }),
    );
    const messages = (await api.sendMediaGroup(CHAT_ID, stems)) as Message[];
    const [call] = fake.callsTo('sendMediaGroup');
    const media = call.params.media as { title: string }[];
    assert.equal(call.files.length, 3, 'each stem should arrive as a file part');
    assert.ok(
      call.files.every((file, i) => file.content.toString() === `${media[i].title} bytes`),
      'each attach:// reference should name the part holding its stem',
    );
    assert.deepEqual(
      media.map((item) => item.title),
      ['Vocals', 'Music', 'Bleed'],
      'titles should be recorded',
    );
    assert.equal(messages.length, 3, 'one message per item should come back');
    assert.ok(messages[0].media_group_id, 'the messages should form an album');
    assert.ok(
      messages.every((m) => m.media_group_id === messages[0].media_group_id),
      'all messages should share one media_group_id',
    );
    assert.equal(messages[1].audio?.title, 'Music', 'message audio should carry the item title');
    assert.equal(messages[1].audio?.performer, 'Stembot', 'message audio should carry the performer');

    // grammY's types forbid this mix; the fake must refuse it as Telegram does for untyped callers.
    const cover = InputMediaBuilder.photo(new InputFile(Buffer.from('png'), 'cover.png'));
    const mixed = [stems[0], cover] as unknown as InputMediaAudio[];
    await assert.rejects(
      api.sendMediaGroup(CHAT_ID, mixed),
      (error: unknown) =>
        error instanceof GrammyError &&
        error.error_code === 400 &&
        error.description === "Bad Request: audio can't be mixed with other media types",
      'Telegram refuses audio mixed with other media',
    );
  });

  it('serves registered files and refuses getFile above the download limit', async () => {
    const content = Buffer.from('ID3 fake mp3 bytes');
    fake.addFile({ fileId: 'song', fileUniqueId: 'u-song', content });
    fake.addFile({ fileId: 'big', fileUniqueId: 'u-big', content, reportedSize: 25_000_000 });

    const file = await api.getFile('song');
    assert.equal(file.file_size, content.length, 'getFile should report the size');
    const response = await fetch(`${fake.apiRoot}/file/bot${fake.token}/${file.file_path}`);
    assert.equal(response.status, 200, 'the download should succeed');
    assert.ok(
      content.equals(Buffer.from(await response.arrayBuffer())),
      'the download should return the bytes',
    );
    assert.deepEqual(fake.downloads, [file.file_path], 'the download path should be recorded');

    await assert.rejects(
      api.getFile('big'),
      /file is too big/,
      'files over 20 MiB cannot be fetched by bots',
    );
    await assert.rejects(api.getFile('nope'), /invalid file_id/, 'unknown file ids are refused');
  });

  it('answers an injected 429 that auto-retry waits out', async () => {
    api.config.use(autoRetry());
    fake.failNext('sendMessage', {
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    const sent = await api.sendMessage(CHAT_ID, 'after the flood wait');
    const calls = fake.callsTo('sendMessage');
    assert.equal(sent.text, 'after the flood wait', 'the retried send should succeed');
    assert.equal(calls.length, 2, 'the first attempt and the retry should both be recorded');
    assert.equal(calls[0].result, undefined, 'the refused attempt should have no result');
    assert.ok(calls[1].at - calls[0].at >= 900, 'auto-retry should wait retry_after before retrying');
  });

  it('refuses edits of unknown messages and edits that change nothing', async () => {
    await assert.rejects(
      api.editMessageText(CHAT_ID, 999, 'x'),
      /message to edit not found/,
      'a message the bot never sent cannot be edited',
    );
    const sent = await api.sendMessage(CHAT_ID, 'Queued');
    const edited = await api.editMessageText(CHAT_ID, sent.message_id, 'Separating');
    assert.ok(typeof edited === 'object' && edited.edit_date, 'a real edit should return the edited message');
    await assert.rejects(
      api.editMessageText(CHAT_ID, sent.message_id, 'Separating'),
      /message is not modified/,
      'an edit to identical text is refused',
    );
    await api.deleteMessage(CHAT_ID, sent.message_id);
    await assert.rejects(
      api.editMessageText(CHAT_ID, sent.message_id, 'Done'),
      /message to edit not found/,
      'a deleted message cannot be edited',
    );
  });

  it('holds long polls, confirms by offset and ends an older poll with 409', async () => {
    const first = api.getUpdates({ timeout: 5 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    await until(() => fake.pollCount === 1);
    const second = api.getUpdates({ timeout: 5 });
    const conflict = await first;
    assert.ok(
      conflict instanceof GrammyError && conflict.error_code === 409,
      `the older poll should end with 409 Conflict, got ${String(conflict)}`,
    );
    const pushed = fake.pushUpdate({
      message: fake.userMessage({ chat: { id: -100, type: 'group', title: 'g' }, from: user }),
    });
    assert.deepEqual(await second, [pushed], 'the held poll should answer with the pushed update');
    assert.deepEqual(
      await api.getUpdates({ offset: pushed.update_id }),
      [pushed],
      'unconfirmed updates stay',
    );
    assert.deepEqual(
      await api.getUpdates({ offset: pushed.update_id + 1 }),
      [],
      'confirmed updates are gone',
    );
    const wrongToken = new Api('1:wrong', { apiRoot: fake.apiRoot });
    await assert.rejects(wrongToken.getMe(), /Unauthorized/, 'a wrong token should get 401');
  });
});
