import { readFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { demoSong } from '../fixtures/demoSong.js';
import { globalSdr } from '../pipeline/analysis/sdr.js';
import { decodeWav, encodeWav } from '../pipeline/audio/wav.js';
import { scaleStereo } from '../pipeline/audio/stereo.js';
import { writeFile } from 'node:fs/promises';
import { separateCommand } from './separate.js';

export const DEMO_USAGE = `Usage: stembot demo [--out DIR] [separate options]

Makes a 12-second song here (a sung-like line over drums, bass and a pad — no download, no model needed),
separates it with \`stembot separate\` into DIR (default ./stembot-demo), and scores the Vocals and Music stems
against the song's true parts (SDR in dB; higher is better).`;

export async function demoCommand(argv: string[]): Promise<number> {
  const { values, tokens } = parseArgs({
    args: argv,
    allowPositionals: false,
    strict: false,
    tokens: true,
    options: {
      out: { type: 'string', short: 'o', default: 'stembot-demo' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const out = resolve(String(values.out));
  await mkdir(out, { recursive: true });
  const song = demoSong();
  const input = join(out, 'demo-song.wav');
  await writeFile(input, encodeWav(song.mix, 'f32'));
  console.error(`wrote ${input} (12 s, made here)`);

  // everything but --out goes to separate; its output is written as 32-bit float so the score is exact
  const passThrough = tokens
    .filter((token) => !(token.kind === 'option' && (token.name === 'out' || token.name === 'o')))
    .flatMap((token) =>
      token.kind === 'option' ? [token.rawName, ...(token.value !== undefined ? [token.value] : [])] : [],
    );
  const code = await separateCommand([input, '--out', out, '--format', 'wav', ...passThrough]);
  if (code !== 0) return code;

  // the recipe normalises its input (spec §A.2 step 1): score against the true parts scaled the same way
  let peak = 0;
  for (const channel of [song.mix.left, song.mix.right])
    for (const v of channel) peak = Math.max(peak, Math.abs(v));
  const gain = 10 ** (-1 / 20) / peak;
  const read = async (name: string) => decodeWav(await readFile(join(out, 'demo-song', name))).audio;
  const vocals = globalSdr(scaleStereo(song.vocals, gain), await read('4_F - Vocals.wav'));
  const music = globalSdr(scaleStereo(song.music, gain), await read('5_F - Music.wav'));
  console.error(
    `score against the true parts: vocals SDR ${vocals.toFixed(1)} dB, music SDR ${music.toFixed(1)} dB ` +
      `(silence / the unseparated mix would score 0.0 / ${globalSdr(scaleStereo(song.music, gain), scaleStereo(song.mix, gain)).toFixed(1)} dB)`,
  );
  return 0;
}
