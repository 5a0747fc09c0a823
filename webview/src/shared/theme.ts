// Reads the VS Code theme the webview is shown in (its --vscode-* variables and body classes) and
// tells when it changes, so charts and the editor can follow the user's theme.

export function themeVar(name: string, fallback = ''): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

export function bodyClasses(): string[] {
  return [...document.body.classList];
}

/** Calls `onChange` when VS Code switches theme (it rewrites the body's class and style). */
export function onThemeChange(onChange: () => void): void {
  let last = `${document.body.className}|${document.documentElement.getAttribute('style') ?? ''}`;
  const observer = new MutationObserver(() => {
    const now = `${document.body.className}|${document.documentElement.getAttribute('style') ?? ''}`;
    if (now === last) return;
    last = now;
    onChange();
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
}
