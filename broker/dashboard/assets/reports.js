// The dashboard's compliance reports: a chart drawn as SVG with DOM calls
// (no library, nothing fetched) above a table of the same figures, which is
// what a screen reader reads. Uses el, getJson and say from dashboard.js.
'use strict';

const svgNs = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// Bars per label, stacked from `series` ({name, className, values}), on a
// y axis from 0 to the largest total (or `max`), ticks suffixed by `unit`.
function barChart(title, labels, series, {max, unit = ''} = {}) {
  const width = 720, height = 280, left = 48, right = 12, top = 16, bottom = 56;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const top_value = max || Math.max(1, ...totals);
  const plot = height - top - bottom;
  const slot = (width - left - right) / Math.max(1, labels.length);
  const chart = svgEl('svg', {viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title,
                              class: 'chart'}, svgEl('title', {text: title}));
  for (const tick of [0, top_value / 2, top_value]) {
    const y = top + plot - (tick / top_value) * plot;
    const shown = Number.isInteger(tick) ? String(tick) : tick.toFixed(1);
    chart.append(svgEl('line', {x1: left, x2: width - right, y1: y, y2: y, class: 'grid'}),
                 svgEl('text', {x: left - 6, y: y + 4, 'text-anchor': 'end', text: shown + unit}));
  }
  const bar = Math.min(slot * 0.7, 56);
  labels.forEach((label, i) => {
    const x = left + i * slot + (slot - bar) / 2;
    let y = top + plot;
    for (const s of series) {
      const value = s.values[i] || 0;
      const h = (value / top_value) * plot;
      if (h <= 0) continue;
      y -= h;
      chart.append(svgEl('rect', {x, y, width: bar, height: h, class: s.className},
                         svgEl('title', {text: `${label}: ${value}${unit} ${s.name}`})));
    }
    chart.append(svgEl('text', {x: x + bar / 2, y: top + plot + 16, 'text-anchor': 'middle',
                                text: label}));
  });
  series.forEach((s, k) => {
    const x = left + k * 160;
    chart.append(svgEl('rect', {x, y: height - 16, width: 12, height: 12, class: s.className}),
                 svgEl('text', {x: x + 16, y: height - 6, text: s.name}));
  });
  return chart;
}

function monthLabel(m) { return m.year + '-' + String(m.month).padStart(2, '0'); }

// "5400s" (proto JSON) as "1 h 30 min".
function durationText(d) {
  if (!d) return '';
  const seconds = Math.round(parseFloat(d));
  const h = Math.floor(seconds / 3600), min = Math.floor((seconds % 3600) / 60);
  if (h) return `${h} h ${min} min`;
  return min ? `${min} min ${seconds % 60} s` : `${seconds} s`;
}

function table(caption, headers, rows) {
  return el('table', {}, el('caption', {text: caption}),
            el('thead', {}, el('tr', {}, ...headers.map(h => el('th', {scope: 'col', text: h})))),
            el('tbody', {}, ...rows.map(cells => el('tr', {}, ...cells.map(c =>
                c instanceof Node ? c : el('td', {text: c}))))));
}

const outcomeSeries = [
  {field: 'onTime', name: 'on time', className: 'on-time'},
  {field: 'late', name: 'late', className: 'late'},
  {field: 'neverMade', name: 'never made', className: 'never-made'},
  {field: 'notYetDue', name: 'not yet due', className: 'not-yet-due'},
];

function missingFromCareView(r) {
  const months = r.months || [];
  const labels = months.map(m => monthLabel(m.month));
  const series = outcomeSeries.map(s => ({...s, values: months.map(m => m[s.field] || 0)}));
  const items = months.flatMap(m => m.items || []);
  return [
    barChart('Missing-from-care referrals by month and federal 24-hour outcome', labels, series),
    table('By month: referrals told to NCMEC and law enforcement within 24 hours of receipt',
          ['Month', 'Referrals', ...outcomeSeries.map(s => s.name)],
          months.map(m => [monthLabel(m.month), m.referrals || 0,
                           ...outcomeSeries.map(s => m[s.field] || 0)])),
    table('Each referral', ['Referral', 'Received (New York / UTC)', 'Outcome', 'Late by'],
          items.map(i => [el('td', {}, referralLink(i.referralId)), timeCell(i.receivedAt),
                          (i.outcome || '').toLowerCase().replaceAll('_', ' '),
                          durationText(i.lateBy)])),
  ];
}

function ackTimesView(r) {
  const kinds = r.kinds || [];
  const labels = kinds.map(k => k.agencyKind);
  const share = kinds.map(k => k.shareWithinDeadline === undefined ? 0
                                : Math.round(k.shareWithinDeadline * 1000) / 10);
  return [
    barChart('Share of deliveries accepted within their deadline, by agency kind', labels,
             [{name: 'accepted within deadline', className: 'on-time', values: share}],
             {max: 100, unit: '%'}),
    table('Time from delivery to business acknowledgement (ACCEPTED)',
          ['Agency kind', 'Deliveries', 'Accepted', 'Within deadline', 'Still open', 'Median',
           'p90', 'Share within deadline'],
          kinds.map((k, i) => [k.agencyKind, k.deliveries || 0, k.accepted || 0,
                               k.acceptedWithinDeadline || 0, k.stillOpen || 0,
                               durationText(k.median), durationText(k.p90),
                               k.shareWithinDeadline === undefined ? '' : share[i] + '%'])),
  ];
}

// A suppressed count is never drawn: its bar is empty and its label says why.
function countText(c) {
  if (c.suppression === 'BELOW_THRESHOLD') return 'suppressed (under threshold)';
  if (c.suppression === 'COMPLEMENTARY') return 'suppressed (complementary)';
  return String(c.count || 0);
}

function annualView(r) {
  const regions = r.byRegion || [];
  const dimensions = [['Trafficking type', r.byTraffickingType], ['Region', regions],
                      ['Town', r.byTown], ['Agency kind notified', r.byAgencyKind],
                      ['Age band', r.byAgeBand], ['Gender', r.byGender]];
  return [
    barChart(`Trafficking referrals in ${r.year} by DCF region (counts under ` +
             `${r.suppressionThreshold} suppressed)`,
             regions.map(c => 'Region ' + c.key + (c.suppression ? ' (suppressed)' : '')),
             [{name: 'referrals', className: 'on-time',
               values: regions.map(c => c.suppression ? 0 : (c.count || 0))}]),
    table(`Trafficking referrals in ${r.year}: total ${countText(r.total || {})}`,
          ['Counted by', 'Value', 'Referrals'],
          dimensions.flatMap(([name, counts]) => (counts || []).map(c =>
              [name, c.key + (c.group ? ' (region ' + c.group + ')' : ''), countText(c)]))),
  ];
}

async function showReport(event) {
  if (event) event.preventDefault();
  const form = document.getElementById('report-form');
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) if (value) params.set(name, value);
  const view = document.getElementById('report-view');
  let body;
  try { body = await getJson('report?' + params.toString()); } catch (error) {
    view.replaceChildren(el('p', {role: 'alert', text: error.message}));
    return;
  }
  const parts = body.missingFromCare ? missingFromCareView(body.missingFromCare)
              : body.ackTimes ? ackTimesView(body.ackTimes) : annualView(body.annualCounts || {});
  view.replaceChildren(...parts);
  say('Report shown.');
}

// The period fields each report takes; by default this month and year
// where the broker counts them (New York), whatever the browser's zone.
function reportFormReady() {
  const form = document.getElementById('report-form');
  const month = new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/New_York', year: 'numeric', month: '2-digit',
  }).format(new Date()).slice(0, 7);
  form.elements.from.value = form.elements.from.value || month;
  form.elements.to.value = form.elements.to.value || month;
  form.elements.year.value = form.elements.year.value || month.slice(0, 4);
  const kind = form.elements.kind;
  const sync = () => {
    const annual = kind.value === 'annual';
    form.elements.year.closest('label').hidden = !annual;
    form.elements.from.closest('label').hidden = annual;
    form.elements.to.closest('label').hidden = annual;
  };
  kind.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', showReport);
}

document.addEventListener('DOMContentLoaded', reportFormReady);
