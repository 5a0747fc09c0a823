import type * as vscode from 'vscode';

/**
 * Owns other disposables and disposes them, newest first, when it is disposed. Anything registered
 * after disposal is disposed at once, so a late callback (a timer, a process exit) cannot leak.
 */
export class Disposable implements vscode.Disposable {
  private readonly owned: vscode.Disposable[] = [];
  private disposedFlag = false;

  get isDisposed(): boolean {
    return this.disposedFlag;
  }

  register<T extends vscode.Disposable>(disposable: T): T {
    if (this.disposedFlag) {
      disposable.dispose();
    } else {
      this.owned.push(disposable);
    }
    return disposable;
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    while (this.owned.length) {
      const next = this.owned.pop()!;
      try {
        next.dispose();
      } catch (error) {
        // One failing disposal must not keep the rest alive (processes, watchers).
        console.error('[mgrpo] dispose failed', error);
      }
    }
  }
}

/** A vscode.Disposable around a plain function (clearInterval, removeListener, ...). */
export function disposableFrom(dispose: () => void): vscode.Disposable {
  return { dispose };
}
