import type { Context } from 'grammy';
import type { Message } from 'grammy/types';

/**
 * The words after `/name` (or `/name@thisbot`) when `message` starts with that command, in its text or in its
 * caption; null otherwise. grammY's `bot.command` reads text only, but a song arrives as a file whose caption
 * carries the command ("/mix flac" on a recording, "/separate best" on a song), so both are read here.
 */
export function commandArguments(
  message: Message,
  names: readonly string[],
  botUsername: string,
): string | null {
  const text = message.text ?? message.caption;
  const entities = message.text !== undefined ? message.entities : message.caption_entities;
  const command = entities?.find((entity) => entity.type === 'bot_command' && entity.offset === 0);
  if (text === undefined || !command) return null;
  const [name, target] = text.slice(1, command.length).split('@');
  if (!names.includes(name.toLowerCase())) return null;
  if (target !== undefined && target.toLowerCase() !== botUsername.toLowerCase()) return null;
  return text.slice(command.length).trim();
}

/** A grammY filter for {@link commandArguments}: sets `ctx.match` to the words after the command. */
export function isCommand(names: readonly string[]) {
  return (ctx: Context): boolean => {
    const message = ctx.message ?? ctx.channelPost;
    if (!message) return false;
    const args = commandArguments(message, names, ctx.me.username);
    if (args === null) return false;
    ctx.match = args;
    return true;
  };
}
