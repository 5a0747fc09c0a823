import type { CommandFactory } from '../ctx';
import { createTrainerEnvironment as create } from '../trainerEnvironment';

/**
 * Create Trainer Environment: torch and the trainer's requirements in a private venv. Nothing in
 * it comes from the workspace (the extension's requirements, a Python from PATH), so it is
 * allowed in untrusted workspaces too; training there stays refused.
 */
export const createTrainerEnvironment: CommandFactory = (ctx) => () => create({ extension: ctx.extension, log: ctx.log, locator: ctx.python });
