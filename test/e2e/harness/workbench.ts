// What a person does in VS Code, as Playwright actions on the workbench: the command palette,
// quick picks, views and trees, editors, hovers, notifications, the status bar and webviews.
// Every helper waits for a state (a selector, a text) and never sleeps for a fixed time.
// Selectors are VS Code's own DOM (seen in code-server 4.139.1); keep them here, in one place.
import type { FrameLocator, Locator, Page } from 'playwright-core';

export const selectors = {
  workbench: 'div.monaco-workbench',
  quickInput: '.quick-input-widget',
  quickInputBox: '.quick-input-widget .quick-input-box input',
  quickInputRow: '.quick-input-widget .quick-input-list .monaco-list-row',
  statusBarItem: '#workbench\\.parts\\.statusbar .statusbar-item',
  activityBarItem: '.part.activitybar .action-item',
  notificationToast: '.notifications-toasts .notification-toast',
  notificationMessage: '.notification-list-item-message',
  hover: '.monaco-hover-content',
  diffEditor: '.monaco-diff-editor',
  editorTab: '.tabs-container .tab',
  activeEditor: '.editor-group-container.active .editor-instance .monaco-editor',
  webview: 'iframe.webview.ready',
} as const;

/** Exact, whole-string match that survives VS Code splitting labels into highlight spans. */
export function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

export class Workbench {
  constructor(readonly page: Page, private readonly defaultTimeoutMs = 30_000) {}

  async waitUntilLoaded(): Promise<void> {
    await this.page.locator(selectors.workbench).waitFor({ state: 'visible', timeout: 60_000 });
    // The status bar is among the last parts laid out; once it has items the window takes keys.
    await this.page.locator(selectors.statusBarItem).first().waitFor({ state: 'visible', timeout: 60_000 });
  }

  // ---- command palette and quick picks -------------------------------------------------------

  /**
   * Opens the palette with F1 and types `query` (without the leading ">"). A quick input that is closing (the
   * one a previous command showed) can look open and then vanish under the typing: then it opens a fresh one.
   */
  async openCommandPalette(query = ''): Promise<Locator> {
    const input = this.page.locator(selectors.quickInputBox);
    const attempts = 3;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!(await input.isVisible())) {
          await this.page.locator(selectors.workbench).focus();
          await this.page.keyboard.press('F1');
        }
        const timeout = attempt < attempts ? this.defaultTimeoutMs / 3 : this.defaultTimeoutMs;
        await input.waitFor({ state: 'visible', timeout });
        await input.fill(`>${query}`, { timeout });
        return input;
      } catch (error) {
        if (attempt >= attempts) throw error;
      }
    }
  }

  /** Rows of the open quick input whose label is exactly `label`. */
  quickItem(label: string | RegExp): Locator {
    const text = typeof label === 'string' ? exactly(label) : label;
    return this.page
      .locator(selectors.quickInputRow)
      .filter({ has: this.page.locator('.label-name', { hasText: text }) });
  }

  /** Labels of the rows the quick input shows now (visible part of the list). */
  async quickItemLabels(): Promise<string[]> {
    await this.page.locator(selectors.quickInputRow).first().waitFor({ timeout: this.defaultTimeoutMs });
    return (await this.page.locator(`${selectors.quickInputRow} .label-name`).allInnerTexts()).map((t) => t.trim());
  }

  /** Runs a command by its palette title, e.g. "MGRPO: Start MGRPO Run". */
  async runCommand(title: string): Promise<void> {
    await this.openCommandPalette(title);
    const row = this.quickItem(title).first();
    await row.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    await row.click();
    // The palette's rows go before the command runs; a quick pick the command shows replaces them. Waiting for
    // that keeps a loaded machine from reading the palette's rows as the command's.
    await this.quickItem(title).first().waitFor({ state: 'hidden', timeout: this.defaultTimeoutMs });
  }

  /** Picks an item in an open quick pick (the one a command just showed). */
  async pickQuickItem(label: string | RegExp): Promise<void> {
    const row = this.quickItem(label).first();
    await row.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    await row.click();
  }

  /** Types into an open input box (e.g. a path prompt) and accepts it with Enter. */
  async answerInputBox(text: string): Promise<void> {
    const input = this.page.locator(selectors.quickInputBox);
    await input.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    await input.fill(text);
    await input.press('Enter');
  }

  async closeQuickInput(): Promise<void> {
    const widget = this.page.locator(selectors.quickInput);
    if (await widget.isVisible()) {
      await this.page.keyboard.press('Escape');
      await widget.waitFor({ state: 'hidden', timeout: this.defaultTimeoutMs });
    }
  }

  // ---- views and trees ------------------------------------------------------------------------

  /** Opens an activity-bar container by its title (e.g. "MGRPO") and returns its side bar part. */
  async openViewContainer(title: string): Promise<Locator> {
    const item = this.page.locator(selectors.activityBarItem).filter({
      has: this.page.locator(`a[aria-label^="${title}"]`),
    });
    await item.first().waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    const sideBar = this.page.locator('#workbench\\.parts\\.sidebar');
    // Clicking an already-open container would close the side bar. After a window reload the workbench may
    // still be restoring its layout (the item marked open while the side bar is hidden, or the reverse): look
    // again and click again until the side bar shows this container.
    const until = Date.now() + this.defaultTimeoutMs;
    for (;;) {
      const open = ((await item.first().getAttribute('class')) ?? '').includes('checked');
      if (open && (await sideBar.isVisible())) return sideBar;
      if (Date.now() > until) break;
      if (!open || !(await sideBar.isVisible())) await item.first().click();
      await this.page.waitForTimeout(1000);
    }
    await sideBar.waitFor({ state: 'visible', timeout: 1000 });
    return sideBar;
  }

  /** A view's pane (by its header title, e.g. "Runs") inside the side bar. */
  view(title: string): Locator {
    return this.page
      .locator('#workbench\\.parts\\.sidebar .pane')
      .filter({ has: this.page.locator('.pane-header', { hasText: new RegExp(title, 'i') }) });
  }

  /** A tree row whose label matches (rows of a tree view or list). */
  treeItem(container: Locator, label: string | RegExp): Locator {
    const text = typeof label === 'string' ? exactly(label) : label;
    return container.locator('.monaco-list-row').filter({ has: this.page.locator('.label-name', { hasText: text }) });
  }

  /**
   * Expands a collapsed tree row (clicking the twistie, as a person does). A live run refreshes the
   * tree as steps arrive, and a click that lands while the row is re-rendered is lost; so, like a
   * person, click again while the row still shows collapsed, until it shows expanded.
   */
  async expandTreeItem(row: Locator): Promise<void> {
    const expanded = row.and(this.page.locator('[aria-expanded="true"]'));
    const deadline = Date.now() + this.defaultTimeoutMs;
    for (;;) {
      await row.waitFor({ state: 'visible', timeout: Math.max(1, deadline - Date.now()) });
      if ((await row.getAttribute('aria-expanded')) === 'false') {
        await row.locator('.monaco-tl-twistie').click({ timeout: Math.max(1, deadline - Date.now()) });
      }
      const left = deadline - Date.now();
      try {
        await expanded.waitFor({ timeout: Math.max(1, Math.min(5_000, left)) });
        return;
      } catch (error) {
        if (left <= 5_000) throw error;
      }
    }
  }

  /** Clicks a view's "Collapse All" action (views with showCollapseAll), e.g. to start from a known tree. */
  async collapseAll(): Promise<void> {
    const action = this.page.locator('#workbench\\.parts\\.sidebar a.action-label[aria-label^="Collapse All"]').first();
    await action.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    await action.click();
  }

  // ---- editors, hovers --------------------------------------------------------------------------

  activeEditor(): Locator {
    return this.page.locator(selectors.activeEditor).first();
  }

  /** Waits for an editor tab whose label matches and returns it. */
  async editorTab(label: string | RegExp): Promise<Locator> {
    const tab = this.page.locator(selectors.editorTab).filter({ hasText: label });
    await tab.first().waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    return tab.first();
  }

  /** Visible text of the active editor's rendered lines (Monaco renders only what is in view). */
  async activeEditorText(editor: Locator = this.activeEditor()): Promise<string> {
    return renderedText(editor, this.defaultTimeoutMs);
  }

  /**
   * Hovers the mouse over the first rendered occurrence of `text` in the active editor and
   * returns the hover widget's text once it shows.
   */
  async hoverText(text: string | RegExp, editor: Locator = this.activeEditor()): Promise<string> {
    const token = editor.locator('.view-line span span', { hasText: text }).first();
    await token.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    const hover = this.page.locator(selectors.hover).filter({ visible: true }).first();
    await token.hover();
    await hover.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    return hover.innerText();
  }

  /**
   * Hovers the line `linesBelow` under the first rendered line containing `anchorText` (e.g. the text
   * of a reasoning step under its "### step 1" header) and returns the hover widget's text.
   */
  async hoverBelow(anchorText: string, linesBelow = 1, editor: Locator = this.activeEditor()): Promise<string> {
    const anchor = editor.locator('.view-line', { hasText: anchorText }).first();
    const hover = this.page.locator(selectors.hover).filter({ visible: true }).first();
    const deadline = Date.now() + this.defaultTimeoutMs;
    // The lines can still move after they render (code lenses above the first line arrive later,
    // pushing every line down), so measure again and point again until the hover shows.
    for (;;) {
      const left = deadline - Date.now();
      await anchor.waitFor({ state: 'visible', timeout: Math.max(1, left) });
      // A line re-rendered between finding it and measuring it has no box: find it again.
      const box = await anchor.boundingBox({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => null);
      try {
        if (!box) throw new Error(`line with "${anchorText}" has no box on screen`);
        // Move away first so the hover of a previous position does not count.
        await this.page.mouse.move(box.x + 4, box.y - 4 * box.height);
        await this.page.mouse.move(box.x + 24, box.y + box.height * (linesBelow + 0.5));
        await hover.waitFor({ state: 'visible', timeout: Math.max(1, Math.min(5_000, deadline - Date.now())) });
        return await hover.innerText();
      } catch (error) {
        if (Date.now() >= deadline) throw error;
      }
    }
  }

  /** Distinct foreground colours of the tokens the editor renders now (one colour = no grammar). */
  async tokenColors(editor: Locator = this.activeEditor()): Promise<Set<string>> {
    const tokens = editor.locator('.view-lines .view-line span span');
    await tokens.first().waitFor({ timeout: this.defaultTimeoutMs });
    const colors = await tokens.evaluateAll((elements) => elements.map((element) => getComputedStyle(element).color));
    return new Set(colors);
  }

  /** The computed foreground colour of the first rendered token matching `text`. */
  async tokenColor(text: string | RegExp, editor: Locator = this.activeEditor()): Promise<string> {
    const token = editor.locator('.view-line span span', { hasText: text }).first();
    await token.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    return token.evaluate((element) => getComputedStyle(element).color);
  }

  // ---- status bar, notifications ------------------------------------------------------------------

  statusBarItem(text: string | RegExp): Locator {
    return this.page.locator(selectors.statusBarItem).filter({ hasText: text }).first();
  }

  /** Texts of the notification toasts on screen now. */
  async notifications(): Promise<string[]> {
    return (await this.page.locator(`${selectors.notificationToast} ${selectors.notificationMessage}`).allInnerTexts())
      .map((t) => t.trim());
  }

  /** Waits for a notification toast whose message matches and returns its text. */
  async waitForNotification(message: string | RegExp): Promise<string> {
    const toast = this.page.locator(selectors.notificationToast).filter({ hasText: message }).first();
    await toast.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    return (await toast.locator(selectors.notificationMessage).innerText()).trim();
  }

  /** Clicks a button of the notification toast whose message matches. */
  async clickNotificationButton(message: string | RegExp, button: string): Promise<void> {
    const toast = this.page.locator(selectors.notificationToast).filter({ hasText: message }).first();
    await toast.getByRole('button', { name: button }).click({ timeout: this.defaultTimeoutMs });
  }

  // ---- generic waits ------------------------------------------------------------------------------

  async waitForText(text: string | RegExp, within: Locator = this.page.locator(selectors.workbench)): Promise<Locator> {
    const found = within.getByText(text).first();
    await found.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    return found;
  }

  async waitForSelector(selector: string, timeoutMs = this.defaultTimeoutMs): Promise<Locator> {
    const found = this.page.locator(selector).first();
    await found.waitFor({ state: 'visible', timeout: timeoutMs });
    return found;
  }

  // ---- webviews -------------------------------------------------------------------------------------

  /**
   * The content frame of the webview panel titled `title` (a dashboard, an inspector). Brings its
   * editor tab to the front first, since VS Code keeps hidden webviews' iframes in the DOM.
   * A new panel needs only: `const frame = await workbench.webview('Title'); frame.getByText(...)`.
   */
  async webview(title: string | RegExp): Promise<FrameLocator> {
    const tab = await this.editorTab(title);
    await tab.click();
    const iframe = this.page.locator(selectors.webview).filter({ visible: true }).first();
    await iframe.waitFor({ state: 'visible', timeout: this.defaultTimeoutMs });
    const inner = iframe.contentFrame().locator('#active-frame');
    await inner.waitFor({ state: 'attached', timeout: this.defaultTimeoutMs });
    return iframe.contentFrame().frameLocator('#active-frame');
  }
}

/**
 * Text of an editor's rendered lines in line order. Monaco positions line elements absolutely
 * (DOM order is not line order) and renders spaces as U+00A0.
 */
export async function renderedText(editor: Locator, timeoutMs = 30_000): Promise<string> {
  const lines = editor.locator('.view-lines .view-line');
  await lines.first().waitFor({ timeout: timeoutMs });
  const ordered = await lines.evaluateAll((elements) =>
    elements
      .map((element) => ({ top: parseFloat((element as HTMLElement).style.top) || 0, text: (element as HTMLElement).innerText }))
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text),
  );
  return ordered.join('\n').replace(/\u00a0/g, ' ');
}
