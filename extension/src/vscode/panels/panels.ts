// The extension's webview panels (one dashboard per run, one inspector) and the serializers that
// take them back after a window reload. main.ts creates it at activation, before VS Code revives
// panels (the manifest's onWebviewPanel events activate the extension for that).
import * as vscode from 'vscode';
import { parseRestoreState } from '../../webview/protocol';
import type { Ctx } from '../ctx';
import { Disposable } from '../disposable';
import { DashboardPanels } from './dashboardPanel';
import { InspectorPanel } from './inspectorPanel';
import { DASHBOARD_VIEW_TYPE, INSPECTOR_VIEW_TYPE } from './panel';

export class Panels extends Disposable {
  readonly dashboards: DashboardPanels;
  readonly inspector: InspectorPanel;

  constructor(ctx: Ctx) {
    super();
    this.dashboards = this.register(new DashboardPanels(ctx));
    this.inspector = this.register(new InspectorPanel(ctx));
    this.register(vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => {
        this.dashboards.restore(panel, parseRestoreState(state)?.runDir);
      },
    }));
    this.register(vscode.window.registerWebviewPanelSerializer(INSPECTOR_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => {
        const restored = parseRestoreState(state);
        await this.inspector.restore(panel, restored?.recordId ? { runDir: restored.runDir, recordId: restored.recordId } : undefined);
      },
    }));
  }
}
