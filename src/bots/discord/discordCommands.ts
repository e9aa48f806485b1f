/**
 * The application commands the Discord bot answers (design §5 `discord/`), as the JSON `stembot discord
 * register` puts to Discord, and the reading of their options back into job settings. Pure.
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type APIApplicationCommandOption,
  type FileUploadType,
  type RESTPostAPIApplicationCommandsJSONBody,
} from 'discord.js';

import type { MixSettings, SeparationSettings, StemChoice } from '../../queue/jobSchema.js';
import { FORMAT_NAMES, PRESET_NAMES, PRESETS, STEM_NAMES } from '../core/settingsNames.js';

export const COMMAND_NAMES = {
  separate: 'separate',
  /** the message command: the name is what people see in Apps → on a message */
  separateMessage: 'Separate stems',
  mix: 'mix',
  stats: 'stats',
  help: 'help',
} as const;

/** Option names of /separate. */
export const SEPARATE_OPTIONS = {
  song: 'song',
  link: 'link',
  preset: 'preset',
  stems: 'stems',
  format: 'format',
} as const;

/** Option names of /mix. */
export const MIX_OPTIONS = {
  vocal: 'vocal',
  backing: 'backing',
  preset: 'preset',
  guideDb: 'guide_db',
  format: 'format',
} as const;

/** The custom id of the Cancel button under a status message: `cancel:<jobId>`. */
export const CANCEL_BUTTON_PREFIX = 'cancel:';

/** Stem sets offered by the `stems` choice; the value is the stems, comma-separated. */
const STEM_CHOICES: readonly (readonly StemChoice[])[] = [
  ['vocals', 'music', 'bleed'],
  ['vocals', 'music'],
  ['vocals'],
  ['music'],
  ['music', 'bleed'],
  ['music', 'guide'],
  ['vocals', 'music', 'guide'],
];

/**
 * The attachment picker's filter (platforms §2a: groups or dot-extensions, at most 10, checked by extension
 * only). The `audio` group is .mp3 .m4a .wav .ogg .opus .flac; the extensions add what songs also come as.
 */
const SONG_FILE_TYPES: FileUploadType[] = [
  'audio',
  'video',
  '.aac',
  '.aiff',
  '.aif',
  '.wma',
  '.webm',
  '.mkv',
  '.mka',
  '.mov',
];

/** Servers, the bot's DMs and group DMs (user installs); both install kinds. */
const EVERYWHERE = {
  contexts: [
    InteractionContextType.Guild,
    InteractionContextType.BotDM,
    InteractionContextType.PrivateChannel,
  ],
  integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
};

/** Every command, for a bulk overwrite (PUT /applications/{id}/commands or the guild's). */
export function discordCommands(): RESTPostAPIApplicationCommandsJSONBody[] {
  return [
    {
      type: ApplicationCommandType.ChatInput,
      name: COMMAND_NAMES.separate,
      description: 'Split a song into Vocals, Music and Bleed stems',
      ...EVERYWHERE,
      options: [
        {
          type: ApplicationCommandOptionType.Attachment,
          name: SEPARATE_OPTIONS.song,
          description: 'The song: an audio or video file',
          file_types: SONG_FILE_TYPES,
        },
        {
          type: ApplicationCommandOptionType.String,
          name: SEPARATE_OPTIONS.link,
          description: 'Or a link to the song',
          max_length: 2000,
        },
        {
          type: ApplicationCommandOptionType.String,
          name: SEPARATE_OPTIONS.preset,
          description: 'Speed or quality (default Balanced)',
          choices: PRESETS.map((preset) => ({ name: PRESET_NAMES[preset], value: preset })),
        },
        {
          type: ApplicationCommandOptionType.String,
          name: SEPARATE_OPTIONS.stems,
          description: 'Which stems you get (default all three)',
          choices: STEM_CHOICES.map((stems) => ({
            name: stems.map((stem) => STEM_NAMES[stem]).join(' + '),
            value: stems.join(','),
          })),
        },
        formatOption(),
      ],
    },
    { type: ApplicationCommandType.Message, name: COMMAND_NAMES.separateMessage, ...EVERYWHERE },
    {
      type: ApplicationCommandType.ChatInput,
      name: COMMAND_NAMES.mix,
      description: 'Mix your vocal recording over a backing track',
      ...EVERYWHERE,
      options: [
        {
          type: ApplicationCommandOptionType.Attachment,
          name: MIX_OPTIONS.vocal,
          description: 'Your vocal recording: an audio or video file',
          file_types: SONG_FILE_TYPES,
          required: true,
        },
        {
          type: ApplicationCommandOptionType.Attachment,
          name: MIX_OPTIONS.backing,
          description: 'The backing track (a Music stem, say)',
          file_types: SONG_FILE_TYPES,
          required: true,
        },
        {
          type: ApplicationCommandOptionType.String,
          name: MIX_OPTIONS.preset,
          description: 'Automatic mix, or the vocal quieter as a guide (default Automatic)',
          choices: [
            { name: 'Automatic', value: 'auto' },
            { name: 'Guide vocal', value: 'guide' },
          ],
        },
        {
          type: ApplicationCommandOptionType.Integer,
          name: MIX_OPTIONS.guideDb,
          description: 'Guide vocal: how many dB quieter (default 12)',
          min_value: 0,
          max_value: 40,
        },
        formatOption(),
      ],
    },
    {
      type: ApplicationCommandType.ChatInput,
      name: COMMAND_NAMES.stats,
      description: 'Queue, workers and throughput (bot admins)',
      // "0": only server administrators see it; the bot checks DISCORD_ADMIN_IDS as well (platforms §2a)
      default_member_permissions: '0',
      contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
      integration_types: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
    },
    {
      type: ApplicationCommandType.ChatInput,
      name: COMMAND_NAMES.help,
      description: 'How to use this bot',
      ...EVERYWHERE,
    },
  ];
}

/** The `format` option of /separate and /mix. */
function formatOption(): APIApplicationCommandOption {
  return {
    type: ApplicationCommandOptionType.String,
    name: SEPARATE_OPTIONS.format,
    description: 'File format (default MP3)',
    choices: (Object.keys(FORMAT_NAMES) as SeparationSettings['format'][]).map((format) => ({
      name: FORMAT_NAMES[format],
      value: format,
    })),
  };
}

/** What /mix's preset and guide_db options asked for (a level implies the guide preset). */
export function mixSettingsFromOptions(options: {
  readonly preset?: string | null;
  readonly guideDb?: number | null;
}): Partial<MixSettings> {
  const settings: { -readonly [K in keyof MixSettings]?: MixSettings[K] } = {};
  if (options.preset === 'auto' || options.preset === 'guide') settings.preset = options.preset;
  if (typeof options.guideDb === 'number' && options.guideDb >= 0 && options.guideDb <= 40) {
    settings.guideDb = options.guideDb;
    settings.preset ??= 'guide';
  }
  return settings;
}

/** What the string options of /separate asked for (choices: values are checked all the same). */
export function settingsFromOptions(options: {
  readonly preset?: string | null;
  readonly stems?: string | null;
  readonly format?: string | null;
}): Partial<SeparationSettings> {
  const settings: { -readonly [K in keyof SeparationSettings]?: SeparationSettings[K] } = {};
  if (options.preset && (PRESETS as readonly string[]).includes(options.preset))
    settings.preset = options.preset as SeparationSettings['preset'];
  if (options.format && options.format in FORMAT_NAMES)
    settings.format = options.format as SeparationSettings['format'];
  const choice = STEM_CHOICES.find((stems) => stems.join(',') === options.stems);
  if (choice) settings.stems = [...choice];
  return settings;
}
