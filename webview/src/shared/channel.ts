// The webview's end of the messages in extension/src/webview/protocol.ts: say `ready` once the
// page can take notifications, dispatch notifications by method, and send requests that resolve
// with the host's reply or reject with its error.
import {
  parseHostMessage,
  type HostNotificationMethod,
  type HostNotifications,
  type WebviewMessage,
  type WebviewRequestMethod,
  type WebviewRequests,
} from '../../../extension/src/webview/protocol';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

type NotificationHandlers = { [M in HostNotificationMethod]?: (params: HostNotifications[M]) => void };

export class HostChannel {
  private readonly api: VsCodeApi = acquireVsCodeApi();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  constructor(private readonly handlers: NotificationHandlers) {
    window.addEventListener('message', (event: MessageEvent<unknown>) => this.receive(event.data));
  }

  /** Tells the host the page is listening; it sends the whole state in answer. */
  ready(): void {
    this.api.postMessage({ kind: 'ready' });
  }

  request<M extends WebviewRequestMethod>(method: M, params: WebviewRequests[M]['params']): Promise<WebviewRequests[M]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.api.postMessage({ kind: 'request', id, method, params } as WebviewMessage);
    });
  }

  private receive(data: unknown): void {
    const message = parseHostMessage(data);
    if (message instanceof Error) {
      console.warn(`[mgrpo webview] ignored a message: ${message.message}`);
      return;
    }
    if (message.kind === 'notify') {
      // Kept by VS Code with the webview; the host's serializer gets it back after a reload.
      if (message.method === 'panel/restoreState') {
        this.api.setState(message.params);
        return;
      }
      const handler = this.handlers[message.method] as ((params: unknown) => void) | undefined;
      handler?.(message.params);
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.kind === 'reply') waiting.resolve(message.result);
    else waiting.reject(new Error(message.message));
  }
}
