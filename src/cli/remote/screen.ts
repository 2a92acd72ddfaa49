/**
 * A full-screen view redrawn in place with plain ANSI sequences (no curses library): the
 * terminal's alternate screen, as `top` and `less` use, so the shell's scrollback is as it was
 * afterwards. Lines are cut to the terminal's width so a wide table never wraps and pushes the
 * frame down.
 *
 * @module
 */
import type { ReadStream, WriteStream } from 'node:tty';

const ESC = '\u001b[';
const ENTER = `${ESC}?1049h${ESC}?25l`; // alternate screen, cursor hidden
const LEAVE = `${ESC}?25h${ESC}?1049l`;
const HOME = `${ESC}H`;
const CLEAR_LINE_END = `${ESC}K`;
const CLEAR_BELOW = `${ESC}J`;

export class Screen {
  #open = true;
  readonly #restore = (): void => this.close();

  /** Takes the terminal; `onQuit` runs on q or Ctrl-C (raw mode turns Ctrl-C into a key, not SIGINT). */
  constructor(
    private readonly out: WriteStream,
    private readonly input: ReadStream | NodeJS.ReadStream,
    onQuit: () => void,
  ) {
    out.write(ENTER);
    // However the process ends, the terminal is given back.
    process.once('exit', this.#restore);
    if (input.isTTY === true) {
      input.setRawMode(true);
      input.on('data', (key: Buffer) => {
        const text = key.toString('utf8');
        if (text === 'q' || text === 'Q' || text === '\u0003') onQuit();
      });
      input.resume();
    }
  }

  draw(lines: readonly string[]): void {
    if (!this.#open) return;
    const width = this.out.columns > 0 ? this.out.columns : Number.POSITIVE_INFINITY;
    this.out.write(`${HOME}${lines.map((l) => `${l.slice(0, width)}${CLEAR_LINE_END}`).join('\n')}\n${CLEAR_BELOW}`);
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    process.off('exit', this.#restore);
    if (this.input.isTTY === true) {
      this.input.setRawMode(false);
      // Let the process end: a resumed stdin keeps the event loop alive.
      this.input.pause();
    }
    this.out.write(LEAVE);
  }
}
