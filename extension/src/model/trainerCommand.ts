// The trainer's command line as "Start MGRPO Run" spawns it: `python -m mgrpo train ...`, or the same
// under PyTorch's launcher (`python -m torch.distributed.run`, i.e. torchrun) for several processes
// on this machine. Pure; the spawning is in src/vscode/trainerProcess.ts.

/** What to train: the embedded demo preset or a config file. */
export type TrainerSource = { kind: 'preset'; preset: 'demo' } | { kind: 'config'; file: string };

/** Most processes `mgrpo.processesPerNode` may ask for (one per GPU; eight-GPU nodes are the common top). */
export const MAX_PROCESSES_PER_NODE = 64;

export interface TrainerCommandRequest {
  python: string;
  source: TrainerSource;
  runDir: string;
  /** Processes on this machine (`mgrpo.processesPerNode`); 1 runs the trainer directly. */
  processesPerNode: number;
}

/**
 * The argv, interpreter first. With several processes torchrun starts them with one process group
 * (`--standalone`: one node, a local rendezvous); they inherit its stdin, stdout and environment, and
 * only rank 0 writes events on stdout and reads commands from stdin, so the protocol is the same.
 * --stop-on-stdin-close: if the extension host dies in any way, the pipe closes and the trainer
 * checkpoints and exits instead of outliving it.
 */
export function trainerCommandLine(request: TrainerCommandRequest): string[] {
  const { processesPerNode } = request;
  if (!Number.isInteger(processesPerNode) || processesPerNode < 1 || processesPerNode > MAX_PROCESSES_PER_NODE) {
    throw new RangeError(`mgrpo.processesPerNode must be a whole number from 1 to ${MAX_PROCESSES_PER_NODE}, got ${processesPerNode}`);
  }
  const sourceArgs = request.source.kind === 'preset' ? ['--preset', request.source.preset] : ['--config', request.source.file];
  const train = ['-m', 'mgrpo', 'train', ...sourceArgs, '--run-dir', request.runDir, '--stop-on-stdin-close'];
  const launcher = processesPerNode > 1
    ? ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', String(processesPerNode)]
    : [];
  return [request.python, ...launcher, ...train];
}
