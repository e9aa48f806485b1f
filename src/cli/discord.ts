import { parseArgs } from 'node:util';

import { type APIApplication, Routes } from 'discord.js';

import { discordCommands } from '../bots/discord/discordCommands.js';
import { createDiscordRest } from '../bots/discord/discordRest.js';
import { loadBotEnv } from '../config/env.js';
import { StembotError } from '../pipeline/errors.js';

export const DISCORD_USAGE = `Usage: stembot discord register [--guild <server id>]

Registers the bot's commands with Discord (DISCORD_TOKEN, DISCORD_API_URL): /separate, the message command
"Separate stems", /stats and /help. Without --guild they are registered globally (every server and DM; Discord
may take a while to show changes); with --guild, in that one server at once (for testing). Registering replaces
the bot's previous commands there. Run it again after upgrading stembot.`;

export async function discordCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { guild: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    console.log(DISCORD_USAGE);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'register')
    throw new StembotError('BAD_ARGUMENT', `expected "stembot discord register"\n\n${DISCORD_USAGE}`);
  const guild = values.guild;
  if (guild !== undefined && !/^\d{15,25}$/.test(guild))
    throw new StembotError(
      'BAD_ARGUMENT',
      `--guild must be a server id (digits; Copy Server ID), got "${guild}"`,
    );
  const env = loadBotEnv();
  if (!env.DISCORD_TOKEN)
    throw new StembotError(
      'BAD_ARGUMENT',
      'Set DISCORD_TOKEN (Developer Portal → Bot → Reset Token) to register.',
    );
  const rest = createDiscordRest({ apiUrl: env.DISCORD_API_URL, token: env.DISCORD_TOKEN });
  const application = (await rest.get(Routes.currentApplication())) as APIApplication;
  const route = guild
    ? Routes.applicationGuildCommands(application.id, guild)
    : Routes.applicationCommands(application.id);
  const registered = (await rest.put(route, { body: discordCommands() })) as { name: string }[];
  console.log(
    `Registered ${registered.length} commands for ${application.name} ${guild ? `in server ${guild}` : 'globally'}: ` +
      registered.map((command) => command.name).join(', '),
  );
  return 0;
}
