import { REST } from 'discord.js';

/** Where Discord is and who the bot is: DISCORD_API_URL (a REST proxy, a fake in tests) and DISCORD_TOKEN. */
export interface DiscordConnection {
  /** e.g. https://discord.com/api; @discordjs/rest adds /v10/… */
  readonly apiUrl: string;
  readonly token: string;
}

/** A REST client for the worker and the CLI (the bot's client makes its own from the same options). */
export function createDiscordRest(connection: DiscordConnection): REST {
  return new REST(discordRestOptions(connection)).setToken(connection.token);
}

/**
 * Options shared by every Discord REST client here. @discordjs/rest waits out 429s (`retry_after`) and retries
 * 5xx and network errors itself; interaction endpoints are not bound by the global limit (platforms §2a).
 */
export function discordRestOptions(connection: DiscordConnection) {
  return { api: connection.apiUrl.replace(/\/+$/, ''), version: '10', timeout: 60_000 } as const;
}
