import type * as vscode from 'vscode';
import { Disposable } from '../disposable';
import { errorText } from '../../format/errorText';
import {
  parseWebviewMessage,
  type HostMessage,
  type HostNotificationMethod,
  type HostNotifications,
  type RequestMessage,
  type WebviewRequestMethod,
  type WebviewRequests,
} from '../../webview/protocol';

export type RequestHandlers = {
  [M in WebviewRequestMethod]?: (params: WebviewRequests[M]['params']) => Promise<WebviewRequests[M]['result']>;
};

/**
 * The host's end of one webview's messages (protocol.ts): nothing is posted before the webview
 * says `ready` (earlier notifications are dropped: `onReady` sends the whole state anyway), every
 * request gets a reply or an error, and malformed messages are logged, not acted on.
 */
export class WebviewChannel extends Disposable {
  private ready = false;

  constructor(
    private readonly webview: vscode.Webview,
    private readonly log: vscode.LogOutputChannel,
    private readonly label: string,
    /** Called on every `ready`: a rebuilt webview says it again and needs everything again. */
    private readonly onReady: () => void,
    private readonly handlers: RequestHandlers,
  ) {
    super();
    this.register(webview.onDidReceiveMessage((value: unknown) => void this.receive(value)));
  }

  get isReady(): boolean {
    return this.ready;
  }

  notify<M extends HostNotificationMethod>(method: M, params: HostNotifications[M]): void {
    if (!this.ready || this.isDisposed) return;
    this.post({ kind: 'notify', method, params } as HostMessage);
  }

  private post(message: HostMessage): void {
    void this.webview.postMessage(message).then(undefined, (error: unknown) => {
      this.log.warn(`[${this.label}] could not post ${message.kind}: ${String(error)}`);
    });
  }

  private async receive(value: unknown): Promise<void> {
    const message = parseWebviewMessage(value);
    if (message instanceof Error) {
      this.log.warn(`[${this.label}] ignored a webview message: ${message.message}`);
      // A request with a usable id still gets its answer, so the webview does not wait forever.
      const id = (value as { id?: unknown } | null)?.id;
      if (typeof id === 'number' && Number.isSafeInteger(id)) this.post({ kind: 'error', id, message: message.message });
      return;
    }
    if (message.kind === 'ready') {
      this.ready = true;
      this.onReady();
      return;
    }
    await this.answer(message);
  }

  private async answer(request: RequestMessage): Promise<void> {
    const handler = this.handlers[request.method] as ((params: unknown) => Promise<unknown>) | undefined;
    if (!handler) {
      this.post({ kind: 'error', id: request.id, message: `${this.label} does not handle ${request.method}` });
      return;
    }
    try {
      const result = await handler(request.params);
      this.post({ kind: 'reply', id: request.id, result: result ?? null });
    } catch (error) {
      const text = errorText(error);
      this.log.warn(`[${this.label}] ${request.method} failed: ${text}`);
      this.post({ kind: 'error', id: request.id, message: text });
    }
  }
}
