/** What the decoder accepts; the CLI and the worker fill it from the environment (STEMBOT_MAX_*). */
export interface InputLimits {
  /** Longest input, seconds. */
  readonly maxDurationS: number;
  /** Most channels; inputs with 3..maxChannels channels are downmixed to stereo. */
  readonly maxChannels: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = { maxDurationS: 1200, maxChannels: 6 };
