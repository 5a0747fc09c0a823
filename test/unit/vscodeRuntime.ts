// The one piece of the `vscode` module that the vscode layer's non-UI classes (RunSession) use at
// run time: EventEmitter, with VS Code's contract (event(listener) returns a Disposable, fire calls
// listeners in order, dispose drops them). Installed before such a module is imported, so its
// logic (polling, following, file-system checks) runs for real in a unit test. Nothing else of
// VS Code is provided: a module that needs more fails loudly at import.
import Module = require('node:module');

export class EventEmitter<T> {
  private listeners: ((value: T) => void)[] = [];
  readonly event = (listener: (value: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
  dispose(): void {
    this.listeners = [];
  }
}

const runtime = { EventEmitter };
const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const original = loader._load;
loader._load = function load(request: string, parent: unknown, isMain: boolean) {
  if (request === 'vscode') return runtime;
  return original.call(this, request, parent, isMain);
};
