import * as vscode from 'vscode';
import type { TrainerEvent } from '../format/types';
import {
  advanceProgress, describeProgress, emptyProgress, fractionDone, type RunProgress,
} from '../model/runProgress';
import { Disposable } from './disposable';
import type { TrainerProcess } from './trainerProcess';

/**
 * What a live trainer shows while it runs: a status bar item ("MGRPO step 12/200 · 41%→47% ·
 * ETA 3m", a click opens the dashboard) and the window's progress indicator. No notification:
 * one kept open for a whole run is in the way, and its Cancel button would stop training.
 * Lives as long as the process.
 */
export class LiveRunView extends Disposable {
  private readonly statusItem: vscode.StatusBarItem;
  private progress: RunProgress;

  constructor(private readonly trainer: TrainerProcess, private readonly runName: string, totalSteps: number) {
    super();
    this.progress = emptyProgress(totalSteps);
    this.statusItem = this.register(vscode.window.createStatusBarItem(`mgrpo.run.${trainer.pid ?? runName}`, vscode.StatusBarAlignment.Left, 50));
    this.statusItem.name = `MGRPO run ${runName}`;
    // A click opens the run's live dashboard (the log stays one click away in the Runs view).
    this.statusItem.command = { command: 'mgrpo.showDashboard', title: 'Show Dashboard', arguments: [{ runDir: trainer.launch.runDir }] };
    this.register(trainer.onEvent((event) => this.onEvent(event)));
    this.register(trainer.onDidChangeState(() => this.render()));
    this.render();
    this.statusItem.show();
    this.showWindowProgress();
  }

  private onEvent(event: TrainerEvent): void {
    switch (event.event) {
      case 'started':
        this.progress = emptyProgress(event.total_steps, event.start_step);
        break;
      case 'step':
        this.progress = advanceProgress(this.progress, event.metrics, event.total_steps);
        break;
      default:
        return;
    }
    this.render();
  }

  private render(): void {
    const state = this.trainer.state;
    const icon = state === 'paused' ? '$(debug-pause)' : state === 'stopping' ? '$(loading~spin)' : '$(sync~spin)';
    const what = state === 'starting' ? vscode.l10n.t('starting…') : describeProgress(this.progress);
    const suffix = state === 'paused' ? ` · ${vscode.l10n.t('paused')}` : state === 'stopping' ? ` · ${vscode.l10n.t('stopping')}` : '';
    this.statusItem.text = `MGRPO ${icon} ${what}${suffix}`;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendText(`${vscode.l10n.t('MGRPO run {0} ({1})', this.runName, state)}\n\n`);
    tooltip.appendText(vscode.l10n.t('Acc@t1 → Acc@t2 of the last step; click for the dashboard.'));
    this.statusItem.tooltip = tooltip;
  }

  private showWindowProgress(): void {
    void vscode.window.withProgress(
      // Short: the status bar item beside it already says step, accuracy and ETA.
      { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Training {0}', this.runName) },
      (report) => new Promise<void>((resolve) => {
        const update = () => {
          const state = this.trainer.state;
          const message = state === 'starting' ? vscode.l10n.t('starting the trainer…')
            : state === 'stopping' ? vscode.l10n.t('stopping (checkpointing the last step)…')
              : `${Math.round(fractionDone(this.progress) * 100)}%${state === 'paused' ? ` · ${vscode.l10n.t('paused')}` : ''}`;
          report.report({ message });
        };
        update();
        const subscriptions = [this.trainer.onEvent(update), this.trainer.onDidChangeState(update)];
        const done = () => {
          subscriptions.forEach((s) => s.dispose());
          resolve();
        };
        // Ends with the process, or with this view (disposed when the run's lifetime ends).
        void this.trainer.exited.then(done);
        this.register({ dispose: done });
      }),
    );
  }
}
