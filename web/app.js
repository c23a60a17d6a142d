import { ApiError, get, query, session } from './api.js';
import { h, show, svg } from './dom.js';
import { checkNote, verifyReceipt } from './verify.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const PAGE_SIZE = 20;
/** Receipt pages read at most (100 records each). */
const PROOF_PAGES_MAX = 20;
const STATUSES = ['succeeded', 'declined', 'failed', 'processing'];

const list = { status: '', cursors: [], search: '' };
const TXN_ID = /^txn_[0-9a-z]{26}$/;

function money(amount, currency) {
  try {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    return new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount / 10 ** digits);
  } catch {
    return `${amount} ${currency}`;
  }
}

/** The masked card: brand and last four, nothing more. */
const maskedCard = (card) => (card ? `${card.brand} •••• ${card.last4}` : '—');
const time = (iso) => h('time', { datetime: iso }, iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC'));

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'The API key was not accepted (unknown, revoked or malformed). Sign in again.';
    if (err.status === 403) return `This key may not read this: ${err.message}`;
    return `${err.message} (HTTP ${err.status}${err.code ? `, ${err.code}` : ''})`;
  }
  return `The server could not be reached: ${err.message}`;
}

function page(title, ...content) {
  document.title = `${title} · paylog`;
  const heading = h('h1', { tabindex: '-1' }, title);
  show(main, heading, ...content);
  heading.focus();
}

const alert = (text) => h('p', { class: 'error', role: 'alert' }, text);

function renderNav() {
  const role = session.role;
  const link = (href, text) => h('li', {}, h('a', { href, 'aria-current': location.hash.startsWith(href) ? 'page' : null }, text));
  show(nav, role === null ? null : h('ul', {},
    role === 'merchant' ? [link('#/payments', 'Payments'), link('#/chart', 'Last hour')] : null,
    role === 'auditor' ? link('#/integrity', 'Integrity') : null,
    h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => { session.signOut(); location.hash = '#/signin'; route(); } }, 'Sign out')),
  ));
}

// Sign-in ------------------------------------------------------------------------------------

function signIn() {
  const keyInput = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'api-key-help' });
  const verifierInput = h('input', { id: 'verifier-key', name: 'verifier-key', type: 'text', autocomplete: 'off', spellcheck: 'false', value: session.verifierKey, 'aria-describedby': 'verifier-help' });
  const status = h('div', { role: 'status' });
  const form = h('form', { method: 'post', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (key === '') return show(status, alert('Enter an API key.'));
    show(status, 'Signing in…');
    try {
      const role = await roleOf(key);
      session.signIn(key, role);
      session.verifierKey = verifierInput.value.trim();
      keyInput.value = '';
      location.hash = role === 'auditor' ? '#/integrity' : '#/payments';
    } catch (err) {
      show(status, alert(errorText(err)));
    }
  } },
  h('label', { for: 'api-key' }, 'API key'),
  keyInput,
  h('p', { id: 'api-key-help', class: 'help' }, 'A merchant or auditor key (sk_…). It is kept in this tab only (sessionStorage) and sent as the Authorization header.'),
  h('label', { for: 'verifier-key' }, 'Journal verifier key (optional)'),
  verifierInput,
  h('p', { id: 'verifier-help', class: 'help' }, 'What ', h('code', {}, 'paylog keys public'), ' prints. Receipts are verified against this key: get it from the journal\'s operator, not from this server.'),
  h('button', { type: 'submit' }, 'Sign in'),
  status);
  page('Sign in', form);
}

/** merchant or auditor: a merchant key lists payments, an auditor key reads checkpoints. */
async function roleOf(key) {
  try {
    await get('/v1/payments?limit=1', key);
    return 'merchant';
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) throw err;
  }
  await get('/v1/audit/checkpoints', key);
  return 'auditor';
}

// Payments -----------------------------------------------------------------------------------

function paymentRow(p) {
  return h('tr', {},
    h('td', {}, time(p.createdAt)),
    h('td', {}, h('a', { href: `#/payments/${p.id}` }, p.id)),
    h('td', { class: 'num' }, money(p.amount, p.currency)),
    h('td', {}, h('span', { class: `badge ${p.status}` }, p.status)),
    h('td', {}, maskedCard(p.card)),
    h('td', {}, p.merchantReference ?? ''));
}

function paymentTable(payments, caption) {
  return h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ['Created', 'Transaction ID', 'Amount', 'Status', 'Card', 'Reference'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, payments.map(paymentRow)));
}

async function payments() {
  const results = h('div', { id: 'results', 'aria-live': 'polite' }, 'Loading…');
  // A status narrows a reference search too; a transaction ID names one payment, so a status ends that search.
  const statusSelect = h('select', { id: 'status-filter', onchange: () => {
    list.status = statusSelect.value;
    list.cursors = [];
    if (TXN_ID.test(list.search)) list.search = '';
    loadPage();
  } },
    h('option', { value: '' }, 'All'), STATUSES.map((s) => h('option', { value: s, selected: list.status === s }, s)));
  const searchInput = h('input', { id: 'search', type: 'search', value: list.search, autocomplete: 'off', spellcheck: 'false', placeholder: 'txn_… or order_1234' });
  const searchForm = h('form', { role: 'search', method: 'post', onsubmit: (event) => {
    event.preventDefault();
    list.search = searchInput.value.trim();
    list.cursors = [];
    if (TXN_ID.test(list.search)) findTransaction(list.search); else loadPage();
  } },
  h('label', { for: 'search' }, 'Transaction ID or merchant reference'), searchInput, h('button', { type: 'submit' }, 'Search'));

  page('Payments',
    h('div', { class: 'toolbar' }, h('div', {}, h('label', { for: 'status-filter' }, 'Status'), statusSelect), searchForm),
    results);

  /** A page of payments, or, while a merchant reference is searched for, of those with exactly that reference (the API's index finds them however old). */
  async function loadPage() {
    const reference = list.search === '' ? undefined : list.search;
    show(results, reference === undefined ? 'Loading…' : 'Searching…');
    try {
      const startingAfter = list.cursors[list.cursors.length - 1];
      const body = await get(`/v1/payments${query({ limit: PAGE_SIZE, status: list.status, merchantReference: reference, startingAfter })}`);
      const pageNumber = list.cursors.length + 1;
      const newer = h('button', { type: 'button', disabled: list.cursors.length === 0, onclick: () => { list.cursors.pop(); loadPage(); } }, '← Newer');
      const older = h('button', { type: 'button', disabled: !body.hasMore, onclick: () => { list.cursors.push(body.data[body.data.length - 1].id); loadPage(); } }, 'Older →');
      const status = list.status ? `, ${list.status}` : '';
      const none = reference === undefined ? 'No payments.' : `No payment with reference “${reference}”${list.status ? ` and status ${list.status}` : ''}.`;
      const caption = reference === undefined ? `Page ${pageNumber}${status}, newest first` : `Reference “${reference}”: page ${pageNumber}${status}, newest first`;
      show(results,
        body.data.length === 0 ? h('p', {}, none) : paymentTable(body.data, caption),
        h('nav', { class: 'pager', 'aria-label': 'Pages' }, newer, h('span', {}, `Page ${pageNumber}`), older));
    } catch (err) {
      show(results, alert(errorText(err)));
    }
  }

  async function findTransaction(id) {
    show(results, 'Searching…');
    try {
      const payment = await get(`/v1/payments/${encodeURIComponent(id)}`);
      show(results, paymentTable([payment], `Transaction ${id}`));
    } catch (err) {
      show(results, err instanceof ApiError && err.status === 404 ? h('p', {}, `No payment ${id}.`) : alert(errorText(err)));
    }
  }

  if (TXN_ID.test(list.search)) await findTransaction(list.search); else await loadPage();
}

// A payment and its trail ------------------------------------------------------------------------

function attemptText(record, previousAttempt) {
  const d = record.data ?? {};
  const parts = [`attempt ${d.attempt}: ${d.result}`];
  if (d.httpStatus !== null && d.httpStatus !== undefined) parts.push(`HTTP ${d.httpStatus}`);
  if (typeof d.latencyMs === 'number') parts.push(`answered in ${d.latencyMs} ms`);
  if (previousAttempt) parts.push(`started ${Math.max(0, Date.parse(record.ts) - Date.parse(previousAttempt.ts) - (previousAttempt.data?.latencyMs ?? 0))} ms after the previous attempt ended`);
  if (typeof d.retryAfterMs === 'number') parts.push(`gateway asked to wait ${d.retryAfterMs} ms`);
  if (d.declineCode) parts.push(`decline code ${d.declineCode}`);
  return parts.join(', ');
}

const short = (hash) => `${String(hash).slice(0, 12)}…`;
const recordAnchor = (r) => `rec-${r.stream}-${r.seq}`;

function timeline(records) {
  const byHash = new Map(records.map((r) => [r.hash, r]));
  let previousAttempt = null;
  return h('ol', { class: 'timeline', 'aria-label': 'Audit trail' }, records.map((r) => {
    const attempt = r.type === 'payment.attempted' ? attemptText(r, previousAttempt) : null;
    if (r.type === 'payment.attempted') previousAttempt = r;
    const linked = byHash.get(r.prev);
    return h('li', { id: recordAnchor(r), tabindex: '-1', class: `outcome-${r.outcome}` },
      h('div', { class: 'head' }, h('strong', {}, r.type), ' ', time(r.ts), ' ', h('span', { class: `badge ${r.outcome}` }, r.outcome)),
      h('dl', {},
        h('dt', {}, 'Actor'), h('dd', {}, r.actor),
        h('dt', {}, 'Origin'), h('dd', {}, `${r.origin.ip ?? 'no address'} · ${r.origin.requestId ?? 'no request ID'}${r.origin.traceId ? ` · trace ${r.origin.traceId}` : ''}`),
        r.reason ? [h('dt', {}, 'Reason'), h('dd', {}, r.reason)] : null,
        attempt ? [h('dt', {}, 'Gateway'), h('dd', {}, attempt)] : null,
        h('dt', {}, 'Position'), h('dd', {}, `record ${r.seq} of stream ${r.stream}`),
        h('dt', {}, 'Hash chain'), h('dd', { class: 'chain' },
          h('code', { title: r.hash }, short(r.hash)), ' ← prev ',
          linked
            ? h('a', { href: `#/payments/${r.resource}`, onclick: (e) => { e.preventDefault(); const t = document.getElementById(recordAnchor(linked)); t?.scrollIntoView(); t?.focus(); }, 'aria-label': `previous record ${linked.seq} (${linked.type}), hash ${short(r.prev)}` }, h('code', {}, short(r.prev)))
            : h('code', { title: r.prev }, short(r.prev)),
          linked ? null : h('span', { class: 'help' }, ` (record ${r.seq - 1} of the stream, not part of this payment)`))));
  }));
}

async function receipt(id) {
  const pages = [];
  let startingAfter;
  for (let i = 0; i < PROOF_PAGES_MAX; i++) {
    const body = await get(`/v1/payments/${encodeURIComponent(id)}/proof${query({ limit: 100, startingAfter })}`);
    pages.push(body);
    const last = body.proofs[body.proofs.length - 1]?.record;
    if (!body.hasMore || !last) return { pages, complete: true };
    startingAfter = `${last.stream}:${last.seq}`;
  }
  return { pages, complete: false };
}

function verdict(result) {
  if (result.status === 'verified') return h('div', { class: 'verdict ok' }, h('strong', {}, 'verified'), ` — ${result.reason}.`);
  if (result.status === 'unchecked') return h('div', { class: 'verdict unchecked' }, h('strong', {}, 'not fully checked'), ` — ${result.reason}.`);
  return h('div', { class: 'verdict bad' }, h('strong', {}, 'does not verify'), ` — ${result.reason}.`);
}

async function payment(id) {
  page('Payment', h('p', {}, 'Loading…'));
  let p;
  try {
    p = await get(`/v1/payments/${encodeURIComponent(id)}`);
  } catch (err) {
    return page('Payment', alert(err instanceof ApiError && err.status === 404 ? `No payment ${id}.` : errorText(err)));
  }
  const proofStatus = h('div', { id: 'proof-status', role: 'status', 'aria-live': 'polite' }, 'Verifying the receipt in this browser…');
  const trail = h('section', { 'aria-labelledby': 'trail-heading' }, h('h2', { id: 'trail-heading' }, 'Audit trail'), h('p', {}, 'Loading…'));
  page(`Payment ${p.id}`,
    h('dl', { class: 'summary' },
      h('dt', {}, 'Amount'), h('dd', {}, money(p.amount, p.currency)),
      h('dt', {}, 'Status'), h('dd', {}, h('span', { class: `badge ${p.status}` }, p.status), p.failureCode ? ` (${p.failureCode}${p.declineCode ? ` / ${p.declineCode}` : ''})` : ''),
      h('dt', {}, 'Card'), h('dd', {}, maskedCard(p.card)),
      h('dt', {}, 'Reference'), h('dd', {}, p.merchantReference ?? '—'),
      h('dt', {}, 'Created'), h('dd', {}, time(p.createdAt)),
      h('dt', {}, 'Gateway attempts'), h('dd', {}, String(p.attempts))),
    h('section', { 'aria-labelledby': 'proof-heading' }, h('h2', { id: 'proof-heading' }, 'Proof'), proofStatus,
      h('p', { class: 'help' }, session.verifierKey
        ? `Checked against the journal verifier key given at sign-in: ${session.verifierKey.split('+')[0]}. “verified” means: every record hashes to its recorded hash, each audit path leads to its checkpoint's root, and that checkpoint is signed by this key.`
        : 'No journal verifier key was given at sign-in: hashes and audit paths are checked, signatures are not.')),
    trail);
  try {
    const { pages, complete } = await receipt(p.id);
    const records = pages.flatMap((pg) => pg.proofs.map((e) => e.record));
    show(trail, h('h2', { id: 'trail-heading' }, 'Audit trail'), timeline(records),
      complete ? null : h('p', { class: 'help' }, `Only the first ${records.length} records are shown and checked.`));
    const result = await verifyReceipt(pages, session.verifierKey);
    show(proofStatus, verdict(result), result.pending ? h('p', { class: 'help' }, `${result.pending} records are not yet covered by a checkpoint.`) : null);
  } catch (err) {
    show(proofStatus, h('div', { class: 'verdict bad' }, h('strong', {}, 'does not verify'), ` — the receipt could not be read: ${errorText(err)}`));
    show(trail, h('h2', { id: 'trail-heading' }, 'Audit trail'), alert(errorText(err)));
  }
}

// Integrity (auditor keys) -----------------------------------------------------------------------

async function integrity() {
  page('Integrity', h('p', {}, 'Loading…'));
  let body;
  try {
    body = await get('/v1/audit/checkpoints');
  } catch (err) {
    return page('Integrity', alert(err instanceof ApiError && err.status === 403 ? 'Only auditor keys read the integrity of the journal (paylog keys create --role auditor).' : errorText(err)));
  }
  const journal = body.journal;
  const checks = await Promise.all(body.data.map((c) => checkNote(c.note, session.verifierKey)));
  // The signed time when the note has one (a verifier trusts only times a signature covers), else when the server says it was made.
  const signedAt = (c, i) => checks[i].checkpoint?.time ?? c.createdAt;
  page('Integrity',
    h('section', { 'aria-labelledby': 'streams-heading' }, h('h2', { id: 'streams-heading' }, 'Streams'),
      h('table', {},
        h('caption', {}, `${body.data.length} streams, each with its newest checkpoint; signatures checked in this browser ${session.verifierKey ? `against ${session.verifierKey.split('+')[0]}` : '(no journal verifier key given at sign-in: not checked)'}`),
        h('thead', {}, h('tr', {}, ['Stream', 'Records', 'Newest checkpoint', 'Age', 'Signature', 'Root'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, body.data.map((c, i) => h('tr', {},
          h('td', {}, h('code', {}, c.stream)), h('td', { class: 'num' }, String(c.size)), h('td', {}, time(signedAt(c, i))),
          h('td', {}, ago(signedAt(c, i))), h('td', {}, signatureBadge(checks[i], c)), h('td', {}, h('code', { title: c.root }, short(c.root)))))))),
    h('section', { 'aria-labelledby': 'journal-heading' }, h('h2', { id: 'journal-heading' }, 'Journal tree and witnesses'),
      journal === null ? h('p', {}, 'No journal checkpoint yet.') : [
        h('dl', { class: 'summary' },
          h('dt', {}, 'Origin'), h('dd', {}, h('code', {}, journal.origin)),
          h('dt', {}, 'Checkpoints in the tree'), h('dd', {}, String(journal.size)),
          h('dt', {}, 'Root'), h('dd', {}, h('code', { title: journal.root }, short(journal.root))),
          h('dt', {}, 'Witness cosignatures'), h('dd', {}, journal.cosignatures.length === 0 ? 'none' : String(journal.cosignatures.length))),
        journal.cosignatures.length === 0 ? h('p', { class: 'help' }, 'No witness has cosigned the newest journal checkpoint (see PAYLOG_WITNESS).')
          : [h('ul', { class: 'cosignatures', 'aria-label': 'Cosignatures' }, journal.cosignatures.map((line) => h('li', {}, 'by ', h('code', {}, line.replace(/^\u2014 /, '').split(' ')[0])))),
            h('p', { class: 'help' }, 'Cosignatures are listed as the server holds them; check them with each witness\'s key (paylog checkpoints fetch).')],
      ]));
}

const SIGNATURE_TEXT = {
  valid: ['success', 'valid'], invalid: ['failure', 'does not verify'], unsigned: ['failure', 'not signed by this key'],
  unsupported: ['unknown', 'no Ed25519 in this browser'], unchecked: ['unknown', 'not checked'],
};

function signatureBadge(check, c) {
  const consistent = check.checkpoint !== null && check.checkpoint.size === c.size;
  const [kind, text] = consistent ? SIGNATURE_TEXT[check.signature] : SIGNATURE_TEXT.invalid;
  return h('span', { class: `badge ${kind}` }, text);
}

// Payments per minute --------------------------------------------------------------------------------

const COLORS = { succeeded: '#1a7f37', declined: '#b35900', failed: '#c62828', processing: '#5a5ad6' };

function chart(stats) {
  const width = 720;
  const height = 240;
  const left = 40;
  const right = 24;
  const top = 12;
  const bottom = 24;
  const max = Math.max(1, ...stats.minutes.map((m) => STATUSES.reduce((n, s) => n + m[s], 0)));
  const barWidth = (width - left - right) / stats.minutes.length;
  const y = (v) => ((height - bottom - top) * v) / max;
  const bars = stats.minutes.map((m, i) => {
    let base = height - bottom;
    return STATUSES.map((s) => {
      if (m[s] === 0) return null;
      const hgt = y(m[s]);
      base -= hgt;
      return svg('rect', { x: left + i * barWidth + 1, y: base, width: Math.max(1, barWidth - 2), height: hgt, fill: COLORS[s] }, svg('title', {}, `${m.minute.slice(11, 16)} UTC: ${m[s]} ${s}`));
    });
  });
  const ticks = [0, Math.ceil(max / 2), max].map((v) => [
    svg('line', { x1: left, x2: width - right, y1: height - bottom - y(v), y2: height - bottom - y(v), class: 'grid' }),
    svg('text', { x: left - 6, y: height - bottom - y(v) + 4, 'text-anchor': 'end' }, String(v)),
  ]);
  const labels = stats.minutes.map((m, i) => (i % 10 === 0 || i === stats.minutes.length - 1
    ? svg('text', { x: left + i * barWidth + barWidth / 2, y: height - 6, 'text-anchor': 'middle' }, m.minute.slice(11, 16)) : null));
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title', class: 'chart' },
    svg('title', { id: 'chart-title' }, `Payments per minute by outcome, ${stats.from.slice(11, 16)}–${stats.to.slice(11, 16)} UTC: ${STATUSES.map((s) => `${stats.total[s]} ${s}`).join(', ')}`),
    ticks, bars, labels);
}

async function lastHour() {
  page('Payments in the last hour', h('p', {}, 'Loading…'));
  let stats;
  try {
    stats = await get('/v1/payments/stats?window=1h');
  } catch (err) {
    return page('Payments in the last hour', alert(errorText(err)));
  }
  const active = stats.minutes.filter((m) => STATUSES.some((s) => m[s] > 0));
  page('Payments in the last hour',
    h('p', {}, `Per minute by outcome, from ${stats.from.slice(11, 16)} to ${stats.to.slice(11, 16)} UTC (the last bar is the current minute).`),
    h('ul', { class: 'legend', 'aria-label': 'Totals' }, STATUSES.map((s) => h('li', {}, h('span', { class: `swatch ${s}`, 'aria-hidden': 'true' }), `${s}: ${stats.total[s]}`))),
    chart(stats),
    stats.truncated ? h('p', { class: 'help' }, 'More than 10,000 payments in the hour: the oldest minutes are undercounted.') : null,
    h('details', {}, h('summary', {}, 'The numbers, as a table'),
      h('table', {},
        h('caption', {}, 'Minutes with payments'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Minute (UTC)'), STATUSES.map((s) => h('th', { scope: 'col' }, s)))),
        h('tbody', {}, active.map((m) => h('tr', {}, h('th', { scope: 'row' }, m.minute.slice(11, 16)), STATUSES.map((s) => h('td', { class: 'num' }, String(m[s])))))))));
}

// Routing ---------------------------------------------------------------------------------------------

async function route() {
  const hash = location.hash || '#/';
  renderNav();
  if (session.key === null) return signIn();
  const match = /^#\/payments\/(txn_[0-9a-z]{26})$/.exec(hash);
  if (match) return payment(match[1]);
  if (hash === '#/payments') return payments();
  if (hash === '#/chart') return lastHour();
  if (hash === '#/integrity') return integrity();
  location.replace(session.role === 'auditor' ? '#/integrity' : '#/payments');
}

window.addEventListener('hashchange', route);
route();
