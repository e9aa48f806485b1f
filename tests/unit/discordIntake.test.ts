/**
 * The Discord bot's pure parts: which song an interaction points at, the command definitions Discord is sent,
 * the reading of their options, the reply target the queue carries, and signed-URL expiry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ApplicationCommandOptionType, ApplicationCommandType } from 'discord.js';

import {
  COMMAND_NAMES,
  MIX_OPTIONS,
  mixSettingsFromOptions,
  discordCommands,
  SEPARATE_OPTIONS,
  settingsFromOptions,
} from '../../src/bots/discord/discordCommands.js';
import {
  type DiscordAttachment,
  pickFromMessage,
  pickFromOptions,
} from '../../src/bots/discord/discordSong.js';
import { attachmentUrlExpiry } from '../../src/bots/discord/discordSource.js';
import {
  discordReplyTarget,
  discordTarget,
  type DiscordReplyTarget,
  TOKEN_MARGIN_MS,
  tokenUsable,
} from '../../src/bots/discord/discordTarget.js';
import { mixSettingsSchema, separationSettingsSchema } from '../../src/queue/jobSchema.js';

const attachment = (name: string, contentType: string | null, extra: Partial<DiscordAttachment> = {}) => ({
  id: `id-${name}`,
  name,
  url: `https://cdn.discordapp.com/attachments/1/2/${name}`,
  size: 1000,
  contentType,
  durationS: null,
  ...extra,
});

describe('Discord: which song an interaction points at', () => {
  it('takes the attachment option when it is audio or video, whatever the link says', () => {
    const song = attachment('song.flac', 'audio/flac');
    assert.deepEqual(pickFromOptions(song, 'https://example.org/other.mp3'), {
      kind: 'file',
      attachment: song,
    });
    const clip = attachment('clip.mp4', 'video/mp4');
    assert.equal(pickFromOptions(clip, null).kind, 'file');
  });

  it('decides by extension when Discord gives no content type, and refuses other files with the type', () => {
    assert.equal(pickFromOptions(attachment('take.m4a', null), null).kind, 'file');
    const pdf = pickFromOptions(attachment('score.pdf', 'application/pdf'), null);
    assert.equal(pdf.kind, 'not-audio');
    assert.match(
      pdf.kind === 'not-audio' ? pdf.reason : '',
      /“score\.pdf” \(application\/pdf\) is not audio or video/,
    );
  });

  it('takes a link option, normalised, and refuses text that is no link', () => {
    assert.deepEqual(pickFromOptions(null, ' <HTTPS://Example.org/a.mp3> '), {
      kind: 'link',
      url: 'https://example.org/a.mp3',
    });
    const notLink = pickFromOptions(null, 'my favourite song');
    assert.equal(notLink.kind, 'not-audio');
    assert.deepEqual(pickFromOptions(null, null), { kind: 'none' });
    assert.deepEqual(pickFromOptions(null, '   '), { kind: 'none' });
  });

  it('on a message: the first audio/video attachment, even after a picture; else its link; else why not', () => {
    const picture = attachment('cover.png', 'image/png');
    const song = attachment('song.ogg', 'audio/ogg');
    assert.deepEqual(pickFromMessage([picture, song], 'https://example.org/x.mp3'), {
      kind: 'file',
      attachment: song,
    });
    assert.deepEqual(pickFromMessage([picture], 'listen: https://example.org/x.mp3.'), {
      kind: 'link',
      url: 'https://example.org/x.mp3',
    });
    const refused = pickFromMessage([picture], 'nice cover');
    assert.equal(refused.kind, 'not-audio');
    assert.deepEqual(pickFromMessage([], 'hello'), { kind: 'none' });
  });
});

describe('Discord: the commands registered', () => {
  const commands = discordCommands();

  it('has /separate, the message command, /mix, /stats and /help with names and texts Discord accepts', () => {
    assert.deepEqual(
      commands.map((command) => command.name),
      [
        COMMAND_NAMES.separate,
        COMMAND_NAMES.separateMessage,
        COMMAND_NAMES.mix,
        COMMAND_NAMES.stats,
        COMMAND_NAMES.help,
      ],
    );
    for (const command of commands) {
      if (command.type === ApplicationCommandType.Message) {
        // message commands take no description and no options (platforms §2a)
        assert.ok(!('description' in command) || !command.description, 'message command has a description');
        assert.ok(!('options' in command), 'message command has options');
        assert.ok(command.name.length <= 32, 'message command name over 32 characters');
        continue;
      }
      assert.match(command.name, /^[-_\p{Ll}\p{N}]{1,32}$/u, `slash command name ${command.name}`);
      const description = ('description' in command ? command.description : '') ?? '';
      assert.ok(description.length > 0 && description.length <= 100, `${command.name} description`);
      for (const option of ('options' in command ? command.options : undefined) ?? []) {
        assert.match(option.name, /^[-_\p{Ll}\p{N}]{1,32}$/u, `option name ${option.name}`);
        assert.ok(option.description.length <= 100, `${option.name} description over 100`);
        const choices = 'choices' in option ? (option.choices ?? []) : [];
        assert.ok(choices.length <= 25, `${option.name} has over 25 choices`);
        for (const choice of choices) assert.ok(choice.name.length <= 100, `choice ${choice.name}`);
      }
      // Discord refuses a command whose required options do not all come first
      const required = (('options' in command ? command.options : undefined) ?? []).map(
        (option) => 'required' in option && option.required === true,
      );
      assert.ok(
        required.indexOf(false) === -1 || !required.slice(required.indexOf(false)).includes(true),
        `${command.name}: a required option after an optional one`,
      );
    }
  });

  it('/mix takes two required audio attachments and reads its preset and level back into valid settings', () => {
    const mix = commands.find((command) => command.name === COMMAND_NAMES.mix);
    const options = mix && 'options' in mix ? (mix.options ?? []) : [];
    for (const name of [MIX_OPTIONS.vocal, MIX_OPTIONS.backing]) {
      const option = options.find((o) => o.name === name);
      assert.equal(option?.type, ApplicationCommandOptionType.Attachment, `${name} is an attachment`);
      assert.ok(option && 'required' in option && option.required, `${name} is required`);
      const fileTypes = option && 'file_types' in option ? (option.file_types ?? []) : [];
      assert.ok(fileTypes.includes('audio'), `${name} takes audio`);
    }
    const preset = options.find((o) => o.name === MIX_OPTIONS.preset);
    const choices = preset && 'choices' in preset ? (preset.choices ?? []) : [];
    assert.deepEqual(
      choices.map((choice) => choice.value),
      ['auto', 'guide'],
    );
    for (const choice of choices) {
      const settings = mixSettingsFromOptions({ preset: String(choice.value) });
      assert.ok(mixSettingsSchema.safeParse(settings).success, `preset ${choice.value} valid`);
      assert.equal(settings.preset, choice.value);
    }
    const level = options.find((o) => o.name === MIX_OPTIONS.guideDb);
    assert.equal(level?.type, ApplicationCommandOptionType.Integer);
    const bounds = level && 'min_value' in level ? [level.min_value, level.max_value] : [];
    assert.deepEqual(bounds, [0, 40]);
    // a level alone means the guide preset; the schema's bounds hold
    assert.deepEqual(mixSettingsFromOptions({ guideDb: 9 }), { preset: 'guide', guideDb: 9 });
    assert.deepEqual(mixSettingsFromOptions({ preset: 'auto', guideDb: 9 }), { preset: 'auto', guideDb: 9 });
    assert.deepEqual(mixSettingsFromOptions({ preset: 'loud', guideDb: 99 }), {});
    assert.equal(mixSettingsSchema.safeParse({ guideDb: 41 }).success, false);
  });

  it('offers an attachment filtered to audio and video (≤ 10 types) and no required option', () => {
    const separate = commands[0];
    const options = 'options' in separate ? (separate.options ?? []) : [];
    const song = options.find((option) => option.name === SEPARATE_OPTIONS.song);
    assert.equal(song?.type, ApplicationCommandOptionType.Attachment);
    const fileTypes = song && 'file_types' in song ? (song.file_types ?? []) : [];
    assert.ok(fileTypes.includes('audio') && fileTypes.includes('video'), 'audio and video groups');
    assert.ok(fileTypes.length <= 10, 'at most 10 file types');
    assert.ok(
      options.every((option) => !('required' in option) || !option.required),
      'song and link are alternatives: neither may be required',
    );
  });

  it('keeps /stats to server administrators by default', () => {
    const stats = commands.find((command) => command.name === COMMAND_NAMES.stats);
    assert.equal(stats?.default_member_permissions, '0');
  });

  it('reads every choice back into settings the job schema accepts, and ignores values it does not know', () => {
    const separate = commands[0];
    const options = 'options' in separate ? (separate.options ?? []) : [];
    for (const name of [SEPARATE_OPTIONS.preset, SEPARATE_OPTIONS.stems, SEPARATE_OPTIONS.format]) {
      const option = options.find((o) => o.name === name);
      const choices = option && 'choices' in option ? (option.choices ?? []) : [];
      assert.ok(choices.length > 0, `${name} has choices`);
      for (const choice of choices) {
        const settings = settingsFromOptions({ [name]: String(choice.value) });
        assert.equal(Object.keys(settings).length, 1, `${name}=${choice.value} read back`);
        assert.ok(separationSettingsSchema.safeParse(settings).success, `${name}=${choice.value} valid`);
      }
    }
    assert.deepEqual(
      settingsFromOptions({ stems: 'vocals,bleed,music', preset: 'ultra', format: 'aac' }),
      {},
    );
    assert.deepEqual(settingsFromOptions({ stems: 'vocals,music' }), { stems: ['vocals', 'music'] });
  });
});

describe('Discord: the reply target and its token', () => {
  const target: DiscordReplyTarget = {
    channelId: '222',
    guildId: '111',
    userId: '333',
    applicationId: '444',
    interactionToken: 'aW50ZXJhY3Rpb24',
    tokenExpiresAt: 1_700_000_900_000,
    responseMessageId: '555',
    sourceMessageId: '666',
    attachmentSizeLimit: 26_214_400,
  };

  it('survives the queue (strings only) unchanged, with and without the optional parts', () => {
    assert.deepEqual(discordTarget(discordReplyTarget(target)), target);
    const bare = {
      ...target,
      guildId: null,
      responseMessageId: null,
      sourceMessageId: null,
      attachmentSizeLimit: null,
    };
    const carried = discordReplyTarget(bare);
    assert.equal(carried.messageId, undefined);
    assert.deepEqual(discordTarget(carried), bare);
  });

  it('uses the token only while it has more than the margin left', () => {
    const end = target.tokenExpiresAt;
    assert.ok(tokenUsable(target, end - TOKEN_MARGIN_MS - 1), 'just inside the margin');
    assert.ok(!tokenUsable(target, end - TOKEN_MARGIN_MS), 'at the margin');
    assert.ok(!tokenUsable(target, end + 1), 'expired');
    assert.ok(tokenUsable(target, end - 5_001, 5_000), 'a smaller margin for a status edit');
    assert.ok(!tokenUsable({ ...target, interactionToken: '' }, 0), 'no token');
  });

  it('reads the expiry of a signed attachment URL (hex Unix seconds in `ex`)', () => {
    const url = 'https://cdn.discordapp.com/attachments/1/2/a.mp3?ex=65a1b2c3&is=659f0f43&hm=ab12';
    assert.equal(attachmentUrlExpiry(url), 0x65a1b2c3 * 1000);
    assert.equal(attachmentUrlExpiry('https://cdn.discordapp.com/attachments/1/2/a.mp3'), null);
    assert.equal(attachmentUrlExpiry('https://x.org/a.mp3?ex=zz'), null);
    assert.equal(attachmentUrlExpiry('not a url'), null);
  });
});
