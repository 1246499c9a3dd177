/* global document */
// The activity page: the agent's recent requests (/activity.json), refreshed every 2 seconds while
// "Update every 2 seconds" is ticked. New requests are announced politely; the table is not re-read.
import { byId, cell, emptyState, fetchJson, h, markUpdated, refreshEvery, setProblem, table, timeElement, timeOnly } from './common.js';
import { DECISIONS, decisionLabel, findingTypes, formatLatency, providerModel, recordTime } from './format.js';

const REFRESH_MS = 2000;
/** Ids already shown, with the time this page first saw them (for records the agent did not time-stamp). */
const firstSeen = new Map();
let loadedOnce = false;

async function load() {
  let records;
  try {
    records = await fetchJson('/activity.json');
  } catch (err) {
    setProblem(err);
    byId('loading').hidden = true;
    return;
  }
  setProblem(null);
  const fresh = records.filter((r) => !firstSeen.has(r.id));
  const seenAt = loadedOnce ? new Date().toISOString() : undefined;
  for (const record of fresh) firstSeen.set(record.id, seenAt);
  render(records);
  if (loadedOnce && fresh.length > 0) announce(fresh);
  loadedOnce = true;
  byId('loading').hidden = true;
  byId('content').hidden = false;
  markUpdated();
}

function render(records) {
  byId('counts').replaceChildren(...counts(records));
  if (records.length === 0) {
    byId('activity').replaceChildren(h('div', { class: 'card' }, emptyState('No AI requests yet. Requests your apps send to AI services through Bifrost Edge appear here within seconds.')));
    return;
  }
  byId('activity').replaceChildren(table({
    caption: 'Recent AI requests, newest first',
    className: 'data-table activity-table',
    columns: [
      { label: 'Time' }, { label: 'App' }, { label: 'Host' }, { label: 'Provider / model' },
      { label: 'Decision' }, { label: 'Findings' }, { label: 'Latency', className: 'num' },
    ],
    rows: records.map(row),
  }));
}

function row(record) {
  const findings = findingTypes(record.findings);
  return h('tr', { 'data-decision': record.decision, 'data-id': record.id },
    cell('Time', {}, timeCell(record)),
    cell('App', { class: 'nowrap' }, record.app ?? '—'),
    cell('Host', { class: 'host' }, record.host, h('span', { class: 'path muted' }, `${record.method} ${record.path}`)),
    cell('Provider / model', { class: 'nowrap' }, providerModel(record.provider, record.model) || '—'),
    cell('Decision', {},
      h('span', { class: `badge badge-${record.decision}`, title: DECISIONS[record.decision]?.help }, decisionLabel(record.decision)),
      record.status !== undefined ? h('span', { class: 'muted status-code' }, ` ${record.status}`) : null,
      record.message ? h('span', { class: 'decision-message' }, record.message) : null),
    cell('Findings', {}, findings.length > 0 ? h('ul', { class: 'findings' }, findings.map((f) => h('li', {}, h('code', {}, f)))) : h('span', { class: 'muted' }, 'None')),
    cell('Latency', { class: 'num' }, formatLatency(record.latencyMs)));
}

function timeCell(record) {
  const at = recordTime(record);
  if (at) return timeElement(at, timeOnly(at));
  // The agent did not time-stamp this record: show when this page first saw it, marked as approximate.
  const seen = firstSeen.get(record.id);
  if (seen) return h('time', { datetime: seen, title: 'When this page first saw the request' }, `≈ ${timeOnly(seen)}`);
  return h('span', { class: 'muted', title: 'Before this page was opened' }, 'earlier');
}

function counts(records) {
  if (records.length === 0) return [];
  const byDecision = Object.keys(DECISIONS)
    .map((decision) => ({ decision, n: records.filter((r) => r.decision === decision).length }))
    .filter((c) => c.n > 0);
  return [`${records.length} request${records.length === 1 ? '' : 's'}: `, ...byDecision.flatMap((c, i) => [
    i > 0 ? ', ' : '',
    h('span', { class: `badge badge-${c.decision}` }, decisionLabel(c.decision)),
    ` ${c.n}`,
  ])];
}

function announce(fresh) {
  const blocked = fresh.filter((r) => r.decision === 'blocked').length;
  byId('announcer').textContent = `${fresh.length} new request${fresh.length === 1 ? '' : 's'}${blocked > 0 ? `, ${blocked} blocked` : ''}.`;
}

document.addEventListener('DOMContentLoaded', () => {
  const auto = byId('auto');
  const refresh = refreshEvery(REFRESH_MS, load, () => auto.checked);
  byId('refresh').addEventListener('click', () => void refresh());
});
