/**
 * The audit of a submission's rows on the pages: its summary on the submission page (each
 * analyser's severity on the subset and on the whole pool, the flagged rows, the link) and the
 * audit report page (`/submissions/ID/audit`), which shows the stored audit
 * (GET /api/submissions/ID/audit) through the HTML report's own sections (src/report/html.ts
 * renderHtmlSections: the same verdicts, figures, plots, label-error and duplicate cards as
 * `sieve audit CHALLENGE --subset FILE --html`), inside the site's frame, styled by the report's
 * style scoped to `.audit-report` (served with the site's stylesheet).
 */
import type { Child } from 'hono/jsx';
import { raw } from 'hono/html';
import { reportStyle } from '../../report/style.ts';
import type { SubmissionAudit } from '../../report/submission-audit.ts';
import type { AuditView, SubmissionDetail } from './api-types.ts';

/** The report's rules, scoped to the page's report block (appended to the site's stylesheet). */
export const AUDIT_CSS = `${reportStyle('.audit-report')}
.tag.sev-ok{color:var(--ok);border-color:var(--ok)}.tag.sev-info{color:var(--accent);border-color:var(--accent)}
.tag.sev-warning{color:var(--warn);border-color:var(--warn)}.tag.sev-problem{color:var(--bad);border-color:var(--bad)}
.audit-report{overflow-wrap:anywhere;min-width:0}
@media (max-width:40rem){.audit-report table{display:block;max-width:100%;overflow-x:auto}}
`;

const enc = encodeURIComponent;

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** One line for a status that is not 'done'. */
function statusLine(a: AuditView): string {
  if (a.status === 'running') return 'The audit of these rows is running; it is shown here when it ends (the score above is final).';
  if (a.status === 'not available') return `Not available: ${a.reason ?? 'no reason recorded'}.`;
  return '';
}

/** The submission page's audit block: the verdict of each analyser on the submitted rows next to the whole pool's. */
export function AuditSummary(props: { audit: AuditView | null | undefined; submission: string }) {
  const a = props.audit;
  if (!a) return null;
  const s = a.status === 'done' ? a.summary : null;
  return (
    <section aria-labelledby="audit">
      <h2 id="audit">Audit of the submitted rows</h2>
      {s ? (
        <>
          <p>{`What sieve's analysers find in the ${count(s.rows)} submitted rows (of ${count(s.pool_rows)} in the pool), next to the whole pool: the same audit as `}<code>sieve audit CHALLENGE --subset FILE</code>{'. '}<a href={`/submissions/${enc(props.submission)}/audit`}>The full audit report</a>{' has every figure, plot and flagged row.'}</p>
          <div class="scroll" tabindex={0}>
            <table>
              <caption>verdicts on the submitted rows and on the whole pool</caption>
              <thead><tr><th scope="col">analyser</th><th scope="col">submitted rows</th><th scope="col" class="num">flagged / audited</th><th scope="col">whole pool</th><th scope="col" class="num">flagged / audited</th></tr></thead>
              <tbody>
                {s.analysers.map((x) => (
                  <tr>
                    <td>{x.title}</td>
                    <td><span class={`tag sev-${x.severity}`}>{x.severity}</span></td>
                    {/* Out of the rows audited: an analyser's findings cover only the rows it points at (the
                        duplicates' clusters), which as a denominator read as the rows audited. */}
                    <td class="num">{x.rows ? `${count(x.flagged)} / ${count(s.rows)}` : '–'}</td>
                    <td>{x.pool ? <span class={`tag sev-${x.pool.severity}`}>{x.pool.severity}</span> : '–'}</td>
                    <td class="num">{x.pool && x.pool.rows ? `${count(x.pool.flagged)} / ${count(s.pool_rows)}` : '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {s.skipped.length ? <p class="note">{`Not run: ${s.skipped.map((x) => `${x.name} (${x.reason})`).join('; ')}.`}</p> : null}
        </>
      ) : <p role="status">{statusLine(a)}</p>}
    </section>
  );
}

export interface AuditSections {
  header: string;
  body: string;
  warnings: string[];
}

/** Rendered reports by submission and stored-audit hash: a stored audit never changes, and its plots take a moment to draw. */
const rendered = new Map<string, Promise<AuditSections>>();
const RENDERED_KEPT = 32;

/** The stored audit's report sections (the HTML report's own renderer), drawn once per audit. */
export function auditSections(submission: string, doc: SubmissionAudit, key: string): Promise<AuditSections> {
  const k = `${submission}|${key}`;
  let p = rendered.get(k);
  if (!p) {
    p = (async () => {
      const [{ renderHtmlSections }, { storedAuditHtml, AUDIT_PAGE_OPTIONS }] = await Promise.all([
        import('../../report/html.ts'), import('../../report/submission-audit.ts'),
      ]);
      const s = await renderHtmlSections(storedAuditHtml(doc), AUDIT_PAGE_OPTIONS);
      return { header: s.header, body: s.body, warnings: s.warnings };
    })();
    p.catch(() => rendered.delete(k));
    rendered.set(k, p);
    while (rendered.size > RENDERED_KEPT) rendered.delete(rendered.keys().next().value!);
  }
  return p;
}

/** The audit report page of one submission. */
export function AuditReportPage(props: { s: SubmissionDetail; sections: AuditSections | null }): Child {
  const { s, sections } = props;
  const a = s.audit ?? null;
  return (
    <>
      <h1>{`Audit of submission ${s.file}`}</h1>
      <p><a href={`/submissions/${enc(s.id)}`}>{'← the submission and its score'}</a>{' · '}<a href={`/challenges/${enc(s.challenge)}`}>{s.challenge}</a></p>
      {sections && a?.status === 'done' ? (
        <>
          <p>{`The rows this submission selects, audited next to the whole pool, as `}<code>{`sieve audit ${s.challenge} --subset ${s.file}`}</code>{` shows them: the same analysers, the challenge's fixed model for the out-of-sample predictions, the pool's participant rows only (never the test split). Audited in ${a.seconds.toFixed(1)} s${a.pool_cached ? ', the whole pool\'s part from the cache' : ''}.`}</p>
          <div class="audit-report">
            {raw(sections.header)}
            {raw(sections.body)}
          </div>
          {sections.warnings.length ? <p class="note">{`${sections.warnings.length} plot(s) could not be drawn.`}</p> : null}
        </>
      ) : (
        <p role="status">{a ? statusLine(a) : 'This submission has no result yet, so nothing was audited.'}</p>
      )}
    </>
  );
}
