import { extname } from 'node:path';
import { parseArgs } from 'node:util';

import { loadPipelineEnv } from '../config/env.js';
import { decodeAudio } from '../pipeline/audio/decode.js';
import { encodeAudio, type OutputFormat } from '../pipeline/audio/encode.js';
import { locateFfmpeg } from '../pipeline/audio/ffmpeg.js';
import { StembotError } from '../pipeline/errors.js';
import { mixVocalOverBacking } from '../pipeline/mixer/autoMix.js';
import { ProgressBar } from './progressBar.js';

export const MIX_USAGE = `Usage: stembot mix <vocal> <backing> -o <out.flac|.wav|.mp3|.ogg> [--preset auto|guide]
                  [--guide-db N] [--json]

Mixes a vocal recording over a backing track (a karaoke Music stem, say) and prints every decision.
  auto  (default) the rule-based mixer: masking-reduction EQ on the vocal, compression until the vocal's
        loudness range is under 16.7 LU, reverb timed to the backing's tempo (RT = −T/45 + 40/9 s, 60 % dry),
        and the vocal 0.5 LU under the backing (EBU R128 loudness).
  guide the vocal as it is, --guide-db (default 12) under its own level: for a guide vocal, pass the Vocals
        and Music stems of one separation.
The output format follows the extension (.wav = 32-bit float). --json prints the decisions as JSON.`;

const FORMAT_BY_EXTENSION: Readonly<Record<string, OutputFormat>> = {
  '.flac': 'flac',
  '.wav': 'wav',
  '.mp3': 'mp3',
  '.ogg': 'opus',
  '.opus': 'opus',
};

export async function mixCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      preset: { type: 'string', default: 'auto' },
      'guide-db': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(MIX_USAGE);
    return 0;
  }
  const [vocalFile, backingFile] = positionals;
  if (!vocalFile || !backingFile || positionals.length > 2) {
    throw new StembotError('BAD_ARGUMENT', `mix takes a vocal and a backing track\n\n${MIX_USAGE}`);
  }
  if (!values.out) throw new StembotError('BAD_ARGUMENT', `mix needs -o <output file>\n\n${MIX_USAGE}`);
  const format = FORMAT_BY_EXTENSION[extname(values.out).toLowerCase()];
  if (!format) {
    throw new StembotError(
      'BAD_ARGUMENT',
      `-o must end in ${Object.keys(FORMAT_BY_EXTENSION).join(', ')} (got "${values.out}")`,
    );
  }
  if (values.preset !== 'auto' && values.preset !== 'guide') {
    throw new StembotError('BAD_ARGUMENT', `--preset must be auto or guide (got "${values.preset}")`);
  }
  const guideDb = values['guide-db'] === undefined ? 12 : Number(values['guide-db']);
  if (!Number.isFinite(guideDb) || guideDb < 0 || guideDb > 40) {
    throw new StembotError(
      'BAD_ARGUMENT',
      `--guide-db must be a number of dB from 0 to 40 (got "${values['guide-db']}")`,
    );
  }
  if (values['guide-db'] !== undefined && values.preset !== 'guide') {
    throw new StembotError('BAD_ARGUMENT', '--guide-db applies to --preset guide only');
  }

  const env = loadPipelineEnv();
  const tools = locateFfmpeg();
  const limits = { maxDurationS: env.STEMBOT_MAX_DURATION_S, maxChannels: env.STEMBOT_MAX_CHANNELS };
  const vocal = (await decodeAudio(tools, vocalFile, limits)).audio;
  const backing = (await decodeAudio(tools, backingFile, limits)).audio;
  const bar = new ProgressBar(`mixing (${values.preset})`);
  const started = performance.now();
  const outcome = await mixVocalOverBacking(vocal, backing, { preset: values.preset, guideDb }, (fraction) =>
    bar.update(Math.round(fraction * 100), 100),
  );
  bar.finish();
  await encodeAudio(tools, outcome.audio, values.out, format);
  const seconds = (performance.now() - started) / 1000;
  if (values.json) {
    console.log(
      JSON.stringify({ output: values.out, seconds, decisions: outcome.decisions, report: outcome.report }),
    );
  } else {
    console.log(outcome.report.join('\n'));
    console.error(`wrote ${values.out} in ${seconds.toFixed(1)} s`);
  }
  return 0;
}
