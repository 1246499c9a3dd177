/* global document, window, URLSearchParams */
// One notice (usually a blocked request), from /notices.json by ?id=: who, what, why, when, what next.
import { byId, fetchJson, h, setProblem, shortDateTime, timeElement } from './common.js';
import { formatAgo, nextSteps, noticeHeading, providerModel } from './format.js';

/** Notice kinds that mean a request was not sent. */
const REFUSALS = new Set(['blocked', 'sign_in_required', 'fail_closed']);

async function load() {
  const id = new URLSearchParams(window.location.search).get('id');
  if (!id) return showMissing('No notice selected', 'This page shows one notice from Bifrost Edge; open it from a notification or from the status page.');
  let notices;
  try {
    notices = await fetchJson('/notices.json');
  } catch (err) {
    setProblem(err);
    byId('loading').hidden = true;
    return;
  }
  setProblem(null);
  const notice = notices.find((n) => n.id === id);
  if (!notice) return showMissing('This notice is no longer available', `Bifrost Edge keeps only its most recent notices, and notice ${id} is not among them (it may also be from before Bifrost Edge restarted).`);
  render(notice);
}

function render(notice) {
  const heading = noticeHeading(notice);
  document.title = `${heading}: Bifrost Edge`;
  byId('heading').textContent = heading;
  byId('notice-message').textContent = notice.why.message;
  const nowMs = Date.now();
  const who = [notice.who.user, notice.who.app ? `using ${notice.who.app}` : undefined].filter(Boolean).join(', ');
  const what = [providerModel(notice.what.provider, notice.what.model), notice.what.host ? `at ${notice.what.host}` : undefined].filter(Boolean).join(' ');
  const rows = [
    ['Who', who || 'This computer'],
    ['What', what || 'An AI request'],
    ['Why', h('span', {}, REFUSALS.has(notice.kind) ? 'Refused by your organization\'s AI policy' : 'Your organization\'s AI policy', notice.why.errorType ? [' (', h('code', {}, notice.why.errorType), ')'] : null)],
    ['When', h('span', {}, timeElement(notice.when, shortDateTime(notice.when)), ` (${formatAgo(notice.when, nowMs)})`)],
    notice.count > 1 ? ['How often', `${notice.count} times since ${shortDateTime(notice.firstAt)}`] : undefined,
    ['Reference', h('code', {}, notice.id)],
  ].filter(Boolean);
  byId('notice-facts').replaceChildren(...rows.flatMap(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
  byId('notice-steps').replaceChildren(...nextSteps(notice).map((step) => h('li', {}, step)));
  const article = byId('notice');
  article.classList.add(`notice-${notice.kind}`);
  article.hidden = false;
  byId('loading').hidden = true;
}

function showMissing(title, detail) {
  document.title = `${title}: Bifrost Edge`;
  byId('heading').textContent = title;
  byId('missing-detail').textContent = detail;
  byId('missing').hidden = false;
  byId('loading').hidden = true;
}

document.addEventListener('DOMContentLoaded', () => void load());
