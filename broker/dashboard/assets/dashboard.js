// The supervisors' dashboard: renders the broker's JSON answers with DOM
// calls only (never HTML from data), follows escalations by server-sent
// events, and sends actions with the session's CSRF token.
'use strict';

const api = '/dashboard/api/';
let csrfToken = '';
const newYork = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York', dateStyle: 'medium', timeStyle: 'medium',
});

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// A time in New York with UTC beside it.
function timeCell(iso) {
  const cell = el('td');
  if (!iso) return cell;
  const at = new Date(iso);
  cell.append(el('time', {datetime: iso, text: newYork.format(at)}), ' ',
              el('span', {class: 'utc', text: '(' + iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') + ' UTC)'}));
  return cell;
}

function say(text) { document.getElementById('status').textContent = text; }

async function getJson(path) {
  const response = await fetch(api + path, {credentials: 'same-origin'});
  const body = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function postJson(path, payload) {
  const response = await fetch(api + path, {
    method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken},
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => ({error: response.statusText}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function referralLink(id) {
  const link = el('a', {href: '#referral', text: id});
  link.addEventListener('click', () => showReferral(id));
  return link;
}

function filterQuery(form) {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (value) params.set(name, value);
  return params.toString();
}

async function loadOverdue() {
  const form = document.getElementById('overdue-filters');
  const query = filterQuery(form);
  const body = await getJson('overdue' + (query ? '?' + query : ''));
  const rows = document.getElementById('overdue-rows');
  rows.replaceChildren(...(body.referrals || []).map(r => el('tr', {'data-referral': r.referralId},
      el('td', {}, referralLink(r.referralId)), el('td', {text: r.priority || ''}),
      el('td', {text: r.region || ''}), el('td', {text: r.deliveries || 0}),
      el('td', {class: 'overdue', text: r.overdue || 0}), el('td', {text: r.dead || 0}),
      timeCell(r.nextDeadline))));
  if (!rows.children.length) rows.append(el('tr', {}, el('td', {colspan: 7, text: 'Nothing overdue.'})));
}

async function loadDead() {
  const body = await getJson('dead-letters');
  const rows = document.getElementById('dead-rows');
  rows.replaceChildren(...(body.referrals || []).map(r => el('tr', {'data-referral': r.referralId},
      el('td', {}, referralLink(r.referralId)), el('td', {text: r.priority || ''}),
      el('td', {text: r.region || ''}), el('td', {text: r.deliveries || 0}),
      el('td', {text: r.dead || 0}), timeCell(r.acceptedAt))));
  if (!rows.children.length) rows.append(el('tr', {}, el('td', {colspan: 6, text: 'No dead letters.'})));
}

async function loadAdapters() {
  const body = await getJson('adapters');
  document.getElementById('adapter-rows').replaceChildren(...(body.adapters || []).map(a =>
      el('tr', {}, el('td', {text: a.agencyId}), el('td', {text: a.adapter}),
         el('td', {text: a.state || 'UP'}), el('td', {text: a.consecutiveFailures || 0}),
         el('td', {text: a.queued || 0}), el('td', {text: a.lastError || ''}))));
}

function actionForm(delivery) {
  const form = el('form', {class: 'actions', 'aria-label': 'Actions on delivery ' + delivery.deliveryId});
  const reason = el('input', {name: 'reason', required: '', size: 30});
  const agency = el('input', {name: 'to', size: 16});
  form.append(el('label', {}, 'Reason (required) ', reason));
  const redeliverable = delivery.state === 'DEAD' || delivery.state === 'DECLINED';
  if (redeliverable) form.append(el('label', {}, 'To agency (optional) ', agency));
  const redeliver = el('button', {type: 'button', text: 'Redeliver'});
  const kind = el('select', {name: 'kind'}, el('option', {value: 'ACCEPTED', text: 'accepted'}),
                  el('option', {value: 'RECEIVED', text: 'received'}));
  const acknowledge = el('button', {type: 'button', text: 'Acknowledge on behalf'});
  if (redeliverable) form.append(redeliver);
  form.append(el('label', {}, 'Acknowledged as ', kind), acknowledge);
  const act = async (path, payload) => {
    if (!reason.value.trim()) { reason.focus(); say('A reason is required.'); return; }
    try {
      const result = await postJson(path, payload);
      say(path === 'redeliver' ? 'Redelivered as ' + result.newDeliveryId + '.' : 'Acknowledged.');
      await showReferral(document.getElementById('referral-id').value);
    } catch (error) { say('Refused: ' + error.message); }
  };
  redeliver.addEventListener('click', () => act('redeliver',
      {deliveryId: delivery.deliveryId, toAgencyId: agency.value.trim(), reason: reason.value.trim()}));
  acknowledge.addEventListener('click', () => act('acknowledge',
      {deliveryId: delivery.deliveryId, kind: kind.value, reason: reason.value.trim()}));
  return form;
}

function bulkForm(deliveries) {
  const dead = deliveries.filter(d => d.state === 'DEAD');
  if (dead.length < 2) return '';
  const form = el('form', {class: 'actions', 'aria-label': 'Redeliver several dead deliveries'});
  const list = el('ul', {}, ...dead.map(d => el('li', {}, el('label', {},
      el('input', {type: 'checkbox', value: d.deliveryId, checked: ''}), ' ' + d.deliveryId + ' to ' + d.agencyId))));
  const reason = el('input', {name: 'reason', required: '', size: 30});
  const confirm = el('button', {type: 'button', text: 'Redeliver the checked deliveries'});
  form.append(el('p', {text: 'Bulk redelivery acts on exactly these deliveries:'}), list,
              el('label', {}, 'Reason (required) ', reason), confirm);
  confirm.addEventListener('click', async () => {
    const ids = [...list.querySelectorAll('input:checked')].map(box => box.value);
    if (!reason.value.trim() || !ids.length) { reason.focus(); say('Check deliveries and give a reason.'); return; }
    try {
      const result = await postJson('redeliver-bulk', {deliveryIds: ids, reason: reason.value.trim()});
      say('Redelivered ' + (result.redelivered || []).length + ' deliveries.');
      await showReferral(document.getElementById('referral-id').value);
    } catch (error) { say('Refused: ' + error.message); }
  });
  return form;
}

async function showReferral(id) {
  document.getElementById('referral-id').value = id;
  const view = document.getElementById('referral-view');
  let r;
  try { r = await getJson('referral?id=' + encodeURIComponent(id)); } catch (error) {
    view.replaceChildren(el('p', {role: 'alert', text: error.message}));
    return;
  }
  const deliveries = r.deliveries || [];
  view.replaceChildren(
      el('h3', {text: 'Referral ' + r.referralId + ' (report ' + (r.carelineReportId || '') + ')'}),
      el('p', {text: 'Priority ' + (r.priority || '') + ', town ' + (r.resolvedTown || '')}),
      bulkForm(deliveries),
      ...deliveries.map(d => el('article', {'data-delivery': d.deliveryId},
          el('h4', {text: d.deliveryId + ' → ' + d.agencyId + ': ' + d.state + (d.overdue ? ' (overdue)' : '')}),
          el('table', {}, el('caption', {text: 'Timeline'}),
             el('tbody', {}, ...(d.timeline || []).map(t => el('tr', {}, timeCell(t.at),
                 el('td', {text: t.action}), el('td', {text: t.actor}), el('td', {text: t.detail || ''}))))),
          actionForm(d))));
}

// Escalations, live; the browser's EventSource resumes after a reconnect
// with Last-Event-ID, and rows of the same delivery are updated in place.
function followEscalations() {
  const rows = document.getElementById('escalation-rows');
  const connection = document.getElementById('escalations-connection');
  const source = new EventSource(api + 'escalations');
  source.onopen = () => { connection.textContent = 'Live.'; };
  source.onerror = () => { connection.textContent = 'Reconnecting…'; };
  source.addEventListener('escalation', event => {
    const e = JSON.parse(event.data);
    const row = el('tr', {'data-delivery': e.deliveryId, 'data-sequence': e.sequence, class: 'updated'},
        el('td', {text: e.sequence}), el('td', {}, referralLink(e.referralId)),
        el('td', {text: e.deliveryId}), el('td', {text: e.agencyId}),
        el('td', {text: (e.step || 0) + ' ' + (e.reason || '')}), timeCell(e.at));
    const old = rows.querySelector('tr[data-delivery="' + CSS.escape(e.deliveryId) + '"]');
    if (old) old.replaceWith(row); else rows.prepend(row);
  });
}

async function refresh() {
  try {
    await Promise.all([loadOverdue(), loadDead(), loadAdapters()]);
  } catch (error) { say('Could not load: ' + error.message); }
}

document.addEventListener('DOMContentLoaded', async () => {
  try {
    const session = await getJson('session');
    csrfToken = session.csrfToken;
    document.getElementById('identity').textContent = session.identity;
  } catch (error) { say(error.message); return; }
  document.getElementById('overdue-filters').addEventListener('submit', event => {
    event.preventDefault();
    loadOverdue().catch(error => say(error.message));
  });
  document.getElementById('referral-find').addEventListener('submit', event => {
    event.preventDefault();
    showReferral(document.getElementById('referral-id').value.trim());
  });
  followEscalations();
  await refresh();
  document.body.dataset.ready = 'true';
});
