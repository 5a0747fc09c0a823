import type { CommandFactory } from '../ctx';
import { compareAcrossSteps } from './compare';
import { clearFilter, filterSamples } from './filter';
import { openRunFolder } from './openRunFolder';
import { pauseRun, refreshRuns, removeRun, resumeRun, saveCheckpoint, showLog, stopRun } from './runControl';
import { startRun } from './startRun';
import { estimateStepValues } from './stepValues';
import { exportStepLabels } from './exportStepLabels';
import { createTrainerEnvironment } from './trainerEnvironment';
import { diffCorrection, openTrace, showFullCompletion } from './traces';
import { showDashboard, showInspector } from './panels';
import { scoreTrace } from './scoreTrace';
import { whatIf } from './whatIf';

/** Every command id of package.json's contributes.commands, with its factory. */
export const COMMANDS: Record<string, CommandFactory> = {
  'mgrpo.startRun': startRun,
  'mgrpo.stopRun': stopRun,
  'mgrpo.pauseRun': pauseRun,
  'mgrpo.resumeRun': resumeRun,
  'mgrpo.saveCheckpoint': saveCheckpoint,
  'mgrpo.openRunFolder': openRunFolder,
  'mgrpo.openTrace': openTrace,
  'mgrpo.diffCorrection': diffCorrection,
  'mgrpo.filterSamples': filterSamples,
  'mgrpo.clearFilter': clearFilter,
  'mgrpo.compareAcrossSteps': compareAcrossSteps,
  'mgrpo.showFullCompletion': showFullCompletion,
  'mgrpo.showLog': showLog,
  'mgrpo.refreshRuns': refreshRuns,
  'mgrpo.showDashboard': showDashboard,
  'mgrpo.showInspector': showInspector,
  'mgrpo.createTrainerEnvironment': createTrainerEnvironment,
  'mgrpo.removeRun': removeRun,
  'mgrpo.estimateStepValues': estimateStepValues,
  'mgrpo.exportStepLabels': exportStepLabels,
  'mgrpo.scoreTrace': scoreTrace,
  'mgrpo.whatIf': whatIf,
};
