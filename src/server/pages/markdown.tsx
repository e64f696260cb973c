/**
 * A challenge README (its story, rules and baselines) as HTML: the subset of Markdown the
 * challenge READMEs use — headings, paragraphs, lists, fenced code, tables, block quotes,
 * inline code, bold, emphasis and links. Built as JSX, so every piece of text is escaped by
 * hono/jsx; no HTML in the Markdown is passed through (it shows as text), and a link keeps
 * its href only when it is http(s), mailto, a path of this server or a fragment (no
 * `javascript:`). A README's relative links are written for its folder in the repository:
 * `../NAME/README.md` becomes challenge NAME's page; no page serves the repository's other
 * files, so any other relative link shows as text with its path.
 */
import type { Child } from 'hono/jsx';

const INLINE = /(`+)([^`]+?)\1|\*\*([^*]+)\*\*|__([^_]+)__|\[([^\]]+)\]\(([^)\s]+)\)|\*([^*\s][^*]*)\*|(?<![A-Za-z0-9])_([^_\s][^_]*)_(?![A-Za-z0-9])/g;

export function safeHref(href: string): string | null {
  if (/^(https?:|mailto:)/i.test(href)) return href;
  // This server's own pages (root-relative, not "//host") and fragments.
  if (/^\/(?!\/)/.test(href) || /^#[\w-]*$/.test(href)) return href;
  const sibling = /^\.\.\/([A-Za-z0-9][\w.-]*)\/?(?:README\.md)?(#[\w-]*)?$/.exec(href);
  if (sibling) return `/challenges/${sibling[1]}${sibling[2] ?? ''}`;
  return null;
}

export function inline(text: string): Child[] {
  const out: Child[] = [];
  let at = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    if (m[2] !== undefined) out.push(<code>{m[2]}</code>);
    else if (m[3] !== undefined || m[4] !== undefined) out.push(<strong>{inline(m[3] ?? m[4])}</strong>);
    else if (m[5] !== undefined) {
      const href = safeHref(m[6]);
      out.push(href ? <a href={href}>{inline(m[5])}</a> : `${m[5]} (${m[6]})`);
    } else out.push(<em>{inline(m[7] ?? m[8])}</em>);
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

const cells = (line: string) => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((x) => x.trim());
const isRule = (line: string) => /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(line);
const LIST = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;

/**
 * Renders Markdown. Headings move down `shift` levels (a README's "#" title becomes an h2 under
 * the page's own h1), never below h6.
 */
export function Markdown(props: { text: string; shift?: number }) {
  const lines = props.text.replace(/\r\n?/g, '\n').split('\n');
  const shift = props.shift ?? 1;
  const blocks: Child[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    const fence = /^\s*(```+|~~~+)\s*([\w-]*)\s*$/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      // Focusable: a wide code block scrolls sideways, and a keyboard must reach it to scroll it.
      blocks.push(<pre tabindex={0}><code>{body.join('\n')}</code></pre>);
      continue;
    }
    const h = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const level = Math.min(6, h[1].length + shift);
      const Tag = `h${level}` as 'h2';
      blocks.push(<Tag>{inline(h[2])}</Tag>);
      i++;
      continue;
    }
    if (line.trim().startsWith('|') && i + 1 < lines.length && isRule(lines[i + 1])) {
      const head = cells(line);
      i += 2;
      const rows: string[][] = [];
      while (i < lines.length && lines[i].trim().startsWith('|')) rows.push(cells(lines[i++]));
      blocks.push(
        <div class="scroll" tabindex={0}>
          <table>
            <thead><tr>{head.map((x) => <th scope="col">{inline(x)}</th>)}</tr></thead>
            <tbody>{rows.map((r) => <tr>{head.map((_, j) => <td>{inline(r[j] ?? '')}</td>)}</tr>)}</tbody>
          </table>
        </div>,
      );
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ''));
      blocks.push(<blockquote><Markdown text={body.join('\n')} shift={shift} /></blockquote>);
      continue;
    }
    const li = LIST.exec(line);
    if (li) {
      const ordered = /\d/.test(li[2]);
      const items: string[] = [];
      while (i < lines.length) {
        const m = LIST.exec(lines[i]);
        if (m && m[1].length <= li[1].length) { items.push(m[3]); i++; continue; }
        // A continuation line (indented, not blank) belongs to the item above.
        if (items.length && lines[i].trim() && /^\s+/.test(lines[i])) { items[items.length - 1] += ` ${lines[i].trim()}`; i++; continue; }
        break;
      }
      const children = items.map((x) => <li>{inline(x)}</li>);
      blocks.push(ordered ? <ol>{children}</ol> : <ul>{children}</ul>);
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() && !/^(#{1,6})\s/.test(lines[i]) && !/^\s*(```|~~~)/.test(lines[i]) && !LIST.exec(lines[i]) && !/^\s*>/.test(lines[i])
      && !(lines[i].trim().startsWith('|') && i + 1 < lines.length && isRule(lines[i + 1]))) para.push(lines[i++].trim());
    if (!para.length) para.push(lines[i++].trim()); // a line no block took (an odd fence): plain text
    blocks.push(<p>{inline(para.join(' '))}</p>);
  }
  return <>{blocks}</>;
}
