// CSS colours as VS Code's --vscode-* variables hold them ("#1e1e1e", "#3794ff80", "rgba(...)"),
// turned into the #RRGGBB / #RRGGBBAA that Monaco's defineTheme accepts. Pure; unit-tested.

function hex2(n: number): string {
  return Math.max(0, Math.min(255, Math.round(n))).toString(16).padStart(2, '0');
}

/** A colour as #rrggbb or #rrggbbaa (lower case), or undefined when it is not one we can read. */
export function cssColorToHex(value: string): string | undefined {
  const text = value.trim().toLowerCase();
  let match = /^#([0-9a-f]{3,4})$/.exec(text);
  if (match) return `#${[...match[1]].map((c) => c + c).join('')}`;
  match = /^#([0-9a-f]{6}|[0-9a-f]{8})$/.exec(text);
  if (match) return text;
  match = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(text);
  if (!match) return undefined;
  const [r, g, b] = [match[1], match[2], match[3]].map(Number);
  if (![r, g, b].every((c) => c >= 0 && c <= 255)) return undefined;
  let rgb = `#${hex2(r)}${hex2(g)}${hex2(b)}`;
  if (match[4] !== undefined) {
    const alpha = match[4].endsWith('%') ? Number(match[4].slice(0, -1)) / 100 : Number(match[4]);
    if (!(alpha >= 0 && alpha <= 1)) return undefined;
    if (alpha < 1) rgb += hex2(alpha * 255);
  }
  return rgb;
}

/** Which of Monaco's base themes a VS Code body class list corresponds to. */
export function monacoBase(bodyClasses: readonly string[]): 'vs' | 'vs-dark' | 'hc-black' | 'hc-light' {
  if (bodyClasses.includes('vscode-high-contrast-light')) return 'hc-light';
  if (bodyClasses.includes('vscode-high-contrast')) return 'hc-black';
  if (bodyClasses.includes('vscode-light')) return 'vs';
  return 'vs-dark';
}
