// What "Create Trainer Environment" needs from the machine and how to say why it failed. Pure: the
// vscode layer measures the disk (fs.statfs) and collects pip's lines.

/**
 * Disk the environment takes once installed. PyPI's Linux torch wheel is the CUDA build: torch,
 * triton and the nvidia-* wheels alone are 5.2 GB; the project's .venv with every requirement
 * measured 6.0 GB (torch 2.15, `du -sh .venv`). Pip also needs room for the downloads while it installs.
 */
export const TRAINER_ENVIRONMENT_BYTES = 6.5 * 1024 ** 3;

/** "6.5 GB" (GiB, one decimal): enough to compare with what a file manager or `df -h` shows. */
export function formatGigabytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

/** The sentence to show when `freeBytes` is short of what the environment takes; undefined when it fits. */
export function diskShortfall(freeBytes: number, folder: string, needBytes = TRAINER_ENVIRONMENT_BYTES): string | undefined {
  if (freeBytes >= needBytes) return undefined;
  return `the trainer environment takes about ${formatGigabytes(needBytes)} (torch with its CUDA libraries), and the disk holding ${folder} has ${formatGigabytes(freeBytes)} free`;
}

const PIP_ERROR = /^ERROR: (.+)$/;
// The last line of a Python traceback, unindented: "OSError: [Errno 28] No space left on device".
const EXCEPTION_LINE = /^[\w.]*(?:Error|Exception|Exit): .+$/;
const MAX_REASON_CHARS = 300;

/**
 * Why pip failed, in its own words: its last "ERROR: ..." line (e.g. "Could not install packages
 * due to an OSError: [Errno 28] No space left on device"), or, when pip itself crashed ("ERROR:
 * Exception:" and a traceback), the traceback's exception line. Cut to a notification's length.
 */
export function pipFailureReason(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trimEnd();
    const reason = PIP_ERROR.exec(line)?.[1] ?? (EXCEPTION_LINE.test(line) ? line : undefined);
    if (reason && reason !== 'Exception:') return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
  }
  return undefined;
}

// What a dropped or stalled download looks like in pip's output (urllib3 and requests wording).
const NETWORK_FAILURE = /ProtocolError|Connection broken|IncompleteRead|ReadTimeoutError|ConnectTimeoutError|ConnectionError|Max retries exceeded|Temporary failure in name resolution|Read timed out|Connection reset by peer/;
// Reasons a second try cannot fix, even when they surface inside a network error ("Connection broken: OSError(28, ...)").
const LASTING_FAILURE = /No space left on device|Errno 28|Permission denied|No matching distribution|Could not find a version/;

/**
 * Whether pip failed on the network in a way worth one more try: a 4 GB download over a long
 * link breaks now and then, and pip retries a connection but not a download that broke midway.
 */
export function pipFailedOnNetwork(lines: readonly string[]): boolean {
  const text = lines.join('\n');
  return NETWORK_FAILURE.test(text) && !LASTING_FAILURE.test(text);
}
