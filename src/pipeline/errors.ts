/**
 * Errors a user can act on. `code` is stable (tests, job failure reasons); `message` is written for the person
 * who sent the input, so the CLI and the bots show it as is.
 */
export type StembotErrorCode =
  | 'FFMPEG_MISSING'
  | 'INPUT_MISSING'
  | 'INPUT_EMPTY'
  | 'INPUT_UNDECODABLE'
  | 'INPUT_NO_AUDIO'
  | 'INPUT_ZERO_LENGTH'
  | 'INPUT_TOO_MANY_CHANNELS'
  | 'INPUT_TOO_LONG'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_PARAMS_MISSING'
  | 'MODEL_INVALID'
  | 'MODEL_HASH_MISMATCH'
  | 'DOWNLOAD_FAILED'
  | 'URL_REFUSED'
  | 'INPUT_TOO_LARGE'
  | 'BAD_ARGUMENT'
  | 'INPUT_SILENT'
  | 'OUTPUT_FAILED';

export class StembotError extends Error {
  override readonly name = 'StembotError';
  constructor(
    readonly code: StembotErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isStembotError(error: unknown): error is StembotError {
  return error instanceof StembotError;
}
