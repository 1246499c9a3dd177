/* global document, window, AbortSignal */
// DOM helpers shared by the Bifrost Edge pages. Text always goes in through textContent, never as HTML:
// the pages show data that came from apps and providers (hosts, model names, messages).

/** Reads one of the agent's JSON endpoints (same origin as the page); throws AgentDown when it does not answer. */
export async function fetchJson(path, timeoutMs = 4000) {
  let response;
  try {
    response = await fetch(path, { cache: 'no-store', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (err) {
    throw new AgentDown(`No answer from Bifrost Edge at ${window.location.host} (${err.name === 'TimeoutError' ? 'timed out' : 'connection refused or dropped'}).`);
  }
  if (!response.ok) throw new AgentDown(`Bifrost Edge answered ${path} with HTTP ${response.status}.`);
  return response.json();
}

export class AgentDown extends Error {
  constructor(message) {
    super(message);
    this.name = 'AgentDown';
  }
}

/**
 * Creates an element: `h('td', { class: 'num', title: 'x' }, 'text', childNode)`. Attributes set to
 * undefined/null/false are left out; `true` sets an empty attribute.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return element;
}

export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page is missing #${id}`);
  return element;
}

/** Shows or clears the page's error box (#problem, role=alert) and marks the data as stale. */
export function setProblem(error) {
  const box = byId('problem');
  if (!error) {
    box.hidden = true;
    document.body.classList.remove('agent-down');
    return;
  }
  byId('problem-detail').textContent = error.message;
  box.hidden = false;
  document.body.classList.add('agent-down');
}

/** "Updated 14:02:11" in the page footer. */
export function markUpdated(date = new Date()) {
  byId('updated').textContent = `Updated ${date.toLocaleTimeString()}`;
}

/**
 * Runs `load` now and then every `intervalMs`, never two at once; `enabled()` can pause it (the person
 * asked the page to stop moving). Returns a function that runs it immediately.
 */
export function refreshEvery(intervalMs, load, enabled = () => true) {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await load();
    } finally {
      running = false;
    }
  };
  window.setInterval(() => { if (enabled()) void run(); }, intervalMs);
  void run();
  return run;
}

/** Local date and time, short: "Jun 1, 14:02:11". */
export function shortDateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function timeOnly(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** A `<time>` element whose visible text is `text` and whose machine-readable value is the ISO time. */
export function timeElement(iso, text) {
  return h('time', { datetime: iso, title: new Date(iso).toString() }, text);
}

/**
 * A labelled usage bar: name, "x of y" figures, a progressbar (announced as "25% used"), and a note
 * such as when it resets. Colour follows usageLevel and is never the only signal: the figures say it.
 */
export function usageBar({ name, figures, fraction, level, note }) {
  const value = Math.min(100, Math.max(0, Math.floor(fraction * 100 + 1e-9)));
  const fill = h('span', { class: 'bar-fill' });
  fill.style.width = `${value}%`;
  return h('div', { class: `usage usage-${level}` },
    h('div', { class: 'usage-head' }, h('span', { class: 'usage-name' }, name), h('span', { class: 'usage-figures' }, figures)),
    h('div', { class: 'bar', role: 'progressbar', 'aria-label': name, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': value, 'aria-valuetext': `${value}% used: ${figures}` }, fill),
    note ? h('div', { class: 'usage-note muted' }, note) : null);
}

/** A data table with a caption (visually hidden when `hideCaption`) and column headers. */
export function table({ caption, hideCaption = true, columns, rows, className }) {
  return h('table', { class: className },
    h('caption', { class: hideCaption ? 'visually-hidden' : undefined }, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.className }, c.label)))),
    h('tbody', {}, rows));
}

/** The message a section shows when it has nothing to list. */
export function emptyState(text) {
  return h('p', { class: 'empty' }, text);
}

/**
 * A table cell whose content sits in one wrapper, so narrow layouts can put the column label (from
 * data-label) beside it as a two-column grid.
 */
export function cell(label, attributes, ...children) {
  return h('td', { 'data-label': label, ...attributes }, h('div', { class: 'cell' }, ...children));
}
