import { isStembotError } from '../pipeline/errors.js';
import { allCommand } from './all.js';
import { botCommand } from './bot.js';
import { demixCommand } from './demix.js';
import { demoCommand } from './demo.js';
import { discordCommand } from './discord.js';
import { evalCommand } from './eval.js';
import { metricsCommand } from './metrics.js';
import { mixCommand } from './mix.js';
import { modelsCommand } from './models.js';
import { separateCommand } from './separate.js';
import { statsCommand } from './stats.js';
import { submitCommand } from './submit.js';
import { workerCommand } from './worker.js';

const USAGE = `stembot — Vocals / Music / Bleed stems with the KaraFan recipe over MDX-Net models

Commands:
  demo                                                 make a song here and separate it (no download needed)
  separate <input> [--preset …] [--format …]           the KaraFan recipe: Vocals, Music, Bleed
  demix <input> <output.wav> --model <id|path.onnx>   run one MDX-Net model (spec §B.6 Extract)
  eval <musdb folder> [--preset …] [--json]            BSS Eval v4 (SDR/SIR/SAR/ISR) on a MUSDB18 folder
  metrics --reference N=F… --estimate N=F… [--json]    BSS Eval v4 (SDR/SIR/SAR/ISR) of estimated stems
  models list | pull <id>… | verify                   the model catalog: install state, download, hash check
  mix <vocal> <backing> -o <out> [--preset …]         mix a vocal recording over a backing track
  bot                                                  the chat bots (TELEGRAM_BOT_TOKEN, DISCORD_TOKEN): queue songs
  discord register [--guild <id>]                      register the Discord commands (globally or in one server)
  worker                                               take separation and mix jobs from the Redis queue (REDIS_URL)
  all                                                  a bot and a worker in one process (one machine)
  submit <link> [--wait]                               queue a separation answered into the outbox folder
  stats [--json]                                       queue, workers, last hour/day, cache, versions

Run \`stembot <command> --help\` for a command's options.`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  demo: demoCommand,
  separate: separateCommand,
  demix: demixCommand,
  eval: evalCommand,
  metrics: metricsCommand,
  models: modelsCommand,
  mix: mixCommand,
  worker: workerCommand,
  bot: botCommand,
  discord: discordCommand,
  all: allCommand,
  submit: submitCommand,
  stats: statsCommand,
};

/** Runs the CLI; returns the exit code. Errors a user can act on print one clear line and exit 1. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (isStembotError(error)) {
      console.error(`error: ${error.message}`);
      return error.code === 'BAD_ARGUMENT' ? 2 : 1;
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
