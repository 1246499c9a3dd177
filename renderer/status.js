/* global document */
// The status page: who you are to Bifrost, your key and policy, budgets, rate limits and the last blocks,
// from the agent's /status.json (and /notices.json, for links to each block's details).
import { byId, cell, emptyState, fetchJson, h, markUpdated, refreshEvery, setProblem, shortDateTime, table, timeElement, usageBar } from './common.js';
import { describeDuration, formatAgo, formatCount, formatSpan, formatUsd, percent, providerModel, usageLevel } from './format.js';

const REFRESH_MS = 5000;

async function load() {
  let status, notices;
  try {
    [status, notices] = await Promise.all([fetchJson('/status.json'), fetchJson('/notices.json').catch(() => [])]);
  } catch (err) {
    setProblem(err);
    // Whatever the page showed before is no longer known to hold.
    setSummary({ level: 'off', text: 'Status unknown: Bifrost Edge is not answering.' });
    byId('loading').hidden = true;
    return;
  }
  setProblem(null);
  render(status, notices);
  byId('loading').hidden = true;
  byId('content').hidden = false;
  markUpdated();
}

function render(status, notices) {
  const policy = status.policy;
  const nowMs = Date.parse(policy.generatedAt);
  renderSummary(status);
  byId('facts').replaceChildren(...facts(status, nowMs));
  byId('budgets').replaceChildren(...budgets(policy, nowMs));
  byId('rate-limits').replaceChildren(...rateLimits(policy, nowMs));
  byId('blocks').replaceChildren(blocks(policy.lastBlocks, notices, nowMs));
  renderList('shadow-section', 'shadow', policy.shadowAi.map((s) => h('li', {}, h('strong', {}, s.name), ` ${shadowDetail(s)}, seen ${formatCount(s.count)} time${s.count === 1 ? '' : 's'}, last ${formatAgo(s.lastSeen, nowMs)}`)));
  renderList('problems-section', 'policy-problems', policy.problems.map((p) => h('li', {}, p)));
}

/** One sentence on the state of protection; only rewritten when it changes, so screen readers hear changes only. */
function renderSummary(status) {
  setSummary(summary(status));
}

function setSummary({ text, level }) {
  const element = byId('summary');
  if (element.textContent !== text) element.textContent = text;
  element.className = `summary summary-${level}`;
}

function summary(status) {
  const policy = status.policy;
  const governed = status.mode !== 'local';
  const failClosed = policy.policy?.failMode === 'closed';
  const key = policy.activeKey;
  if (governed && !policy.user.signedIn) return { level: 'blocked', text: 'You are not signed in, so AI requests are refused. Sign in from the Bifrost Edge tray icon.' };
  if (key?.state === 'inactive') return { level: 'blocked', text: `Your key '${key.name}' is switched off, so AI requests are refused.` };
  if (key?.state === 'expired') return { level: 'blocked', text: `Your key '${key.name}' has expired, so AI requests are refused.` };
  if (!key && policy.keyProblem) return { level: 'blocked', text: policy.keyProblem };
  const gatewayDown = governed && !policy.connectivity.gateway;
  if (gatewayDown || !policy.connectivity.controlPlane) {
    const what = gatewayDown ? 'your Bifrost gateway' : 'Edge Control';
    return failClosed
      ? { level: 'blocked', text: `Bifrost Edge cannot reach ${what}, and your policy stops AI requests until it can.` }
      : { level: 'attention', text: `Bifrost Edge cannot reach ${what}; AI requests continue under this device's checks.` };
  }
  const nowMs = Date.parse(policy.generatedAt);
  const spent = policy.budgets.find((b) => b.provider === undefined && b.fraction >= 1);
  if (spent) return { level: 'blocked', text: `Your budget is used up, so AI requests are refused${spent.resetsAt ? ` until it resets in ${formatSpan(Date.parse(spent.resetsAt) - nowMs)}` : ''}.` };
  const limited = policy.rateLimits.find((r) => r.max > 0 && r.used >= r.max);
  if (limited) return { level: 'attention', text: `You reached a ${limited.metric === 'requests' ? 'request' : 'token'} limit${limited.provider ? ` for ${limited.provider}` : ''}; requests it covers are refused${limited.resetsAt ? ` for ${formatSpan(Date.parse(limited.resetsAt) - nowMs)}` : ''}.` };
  const nearly = policy.budgets.find((b) => b.fraction >= 0.8);
  if (nearly) return { level: 'attention', text: `Protecting your AI traffic. Your ${nearly.provider ? `${nearly.provider} ` : ''}budget is ${percent(nearly.fraction)}% used.` };
  return { level: 'ok', text: `Protecting your AI traffic${status.mode === 'local' ? ' (local mode)' : ''}.` };
}

function facts(status, nowMs) {
  const policy = status.policy;
  const user = policy.user;
  const who = [user.name, user.email && user.email !== user.name ? `<${user.email}>` : undefined].filter(Boolean).join(' ');
  const key = policy.activeKey;
  const p = policy.policy;
  const rows = [
    ['User', userText(who, user.signedIn, status.mode)],
    ['Virtual key', key ? keyText(key) : policy.keyProblem ?? (p ? 'None' : 'None yet: no policy received')],
    ['Policy', p ? h('span', {}, `Version ${p.version}, issued `, timeElement(p.issuedAt, formatAgo(p.issuedAt, nowMs) || shortDateTime(p.issuedAt))) : 'No policy received yet'],
    ['When unreachable', p ? (p.failMode === 'closed' ? 'AI requests stop (fail-closed)' : 'AI requests continue (fail-open)') : undefined],
    ['Routing', `${capitalize(p?.routing ?? status.mode)} mode${status.gateway ? ` via ${status.gateway}` : ''}`],
    ['Connectivity', h('span', { class: 'connectivity' },
      reachability('Bifrost gateway', status.mode === 'local' ? undefined : policy.connectivity.gateway),
      // Without Edge Control configured, controlPlane stays true (nothing to be down): say it is not used.
      reachability('Edge Control', policy.connectivity.controlPlaneConfigured === false ? undefined : policy.connectivity.controlPlane))],
  ];
  return rows.filter(([, value]) => value !== undefined).flatMap(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]);
}

function userText(who, signedIn, mode) {
  if (who) return `${who}${signedIn ? '' : ' (not signed in)'}`;
  if (mode === 'local') return 'No sign-in needed (local mode)';
  return signedIn ? 'Signed in' : 'Not signed in';
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function keyText(key) {
  const state = key.state === 'usable' ? 'active' : key.state === 'inactive' ? 'switched off' : 'expired';
  const expires = key.expiresAt && key.state === 'usable' ? `, expires ${shortDateTime(key.expiresAt)}` : '';
  return h('span', {}, h('strong', {}, key.name), ` (${key.id}), ${state}${expires}`);
}

function reachability(name, up) {
  if (up === undefined) return h('span', { class: 'reach reach-na' }, `${name}: not used`);
  return h('span', { class: `reach ${up ? 'reach-up' : 'reach-down'}` }, `${name}: ${up ? 'reachable' : 'unreachable'}`);
}

function scopeName(provider, what) {
  return provider === undefined ? `Key ${what}` : `${provider} ${what}`;
}

function resets(resetsAt, nowMs) {
  return resetsAt ? `resets in ${formatSpan(Date.parse(resetsAt) - nowMs)}` : undefined;
}

function budgets(policy, nowMs) {
  if (policy.budgets.length === 0) return [emptyState(policy.activeKey ? 'Your key has no spending budget.' : 'No budget: there is no active key.')];
  return policy.budgets.map((b) => usageBar({
    name: scopeName(b.provider, 'budget'),
    figures: `${formatUsd(b.usedUsd)} of ${formatUsd(b.maxUsd)} per ${describeDuration(b.resetDuration)}`,
    fraction: b.fraction,
    level: usageLevel(b.fraction),
    note: [`${percent(b.fraction)}% used`, resets(b.resetsAt, nowMs)].filter(Boolean).join(' · '),
  }));
}

function rateLimits(policy, nowMs) {
  if (policy.rateLimits.length === 0) return [emptyState(policy.activeKey ? 'Your key has no rate limits.' : 'No rate limits: there is no active key.')];
  return policy.rateLimits.map((r) => {
    const fraction = r.max > 0 ? r.used / r.max : 1;
    return usageBar({
      name: scopeName(r.provider, r.metric === 'requests' ? 'requests' : 'tokens'),
      figures: `${formatCount(r.used)} of ${formatCount(r.max)} ${r.metric} per ${describeDuration(r.resetDuration)}`,
      fraction,
      level: usageLevel(fraction),
      note: [r.used >= r.max ? 'Limit reached' : `${formatCount(r.max - r.used)} left`, resets(r.resetsAt, nowMs)].filter(Boolean).join(' · '),
    });
  });
}

function blocks(lastBlocks, notices, nowMs) {
  if (lastBlocks.length === 0) return emptyState('No requests have been blocked recently.');
  // lastBlocks and /notices.json come from the same notices; match them to link each block to its details.
  const idOf = (block) => notices.find((n) => n.when === block.when && n.why?.message === block.message)?.id;
  const rows = lastBlocks.map((block) => {
    const id = idOf(block);
    return h('tr', {},
      cell('When', {}, timeElement(block.when, formatAgo(block.when, nowMs))),
      cell('App', { class: 'nowrap' }, block.app ?? '—'),
      cell('Model', { class: 'nowrap' }, providerModel(block.provider, block.model) || '—'),
      cell('Why', { class: 'message' }, block.message, block.count > 1 ? h('span', { class: 'count' }, ` ×${block.count}`) : null),
      cell('Details', {}, id ? h('a', { href: `notice.html?id=${encodeURIComponent(id)}` }, 'Details', h('span', { class: 'visually-hidden' }, ` of the block at ${shortDateTime(block.when)}`)) : '—'));
  });
  return table({
    caption: 'Requests Bifrost Edge refused recently, newest first',
    className: 'data-table blocks-table',
    columns: [{ label: 'When' }, { label: 'App' }, { label: 'Model' }, { label: 'Why' }, { label: 'Details', className: 'narrow' }],
    rows,
  });
}

/** Apps are seen in decrypted traffic (on a host); services are hosts Edge only tunnels, unread. */
function shadowDetail(entry) {
  if (entry.kind === 'app') return entry.detail ? `(app, on ${entry.detail})` : '(app)';
  return '(service, not inspected)';
}

function renderList(sectionId, listId, items) {
  byId(sectionId).hidden = items.length === 0;
  byId(listId).replaceChildren(...items);
}

document.addEventListener('DOMContentLoaded', () => {
  const refresh = refreshEvery(REFRESH_MS, load);
  byId('refresh').addEventListener('click', () => void refresh());
});
