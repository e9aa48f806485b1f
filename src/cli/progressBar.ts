/**
 * A one-line progress bar on stderr, drawn only on a terminal (logs and pipes get nothing), redrawn at most
 * every 100 ms.
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY);
  }

  update(done: number, total: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (done < total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const fraction = total > 0 ? Math.min(done / total, 1) : 0;
    const filled = Math.round(fraction * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    this.stream.write(
      `\r${this.label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% (${done}/${total})`,
    );
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
  }
}
