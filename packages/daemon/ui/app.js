// tc-daemon's page: the JSON API for actions, server-sent events for the list. No framework, no build.
const $ = (s) => document.querySelector(s);
const tbody = $('#torrents tbody');
let selected;

const rate = (bps) => (bps > 0 ? `${(bps / 1000).toFixed(bps < 10_000 ? 1 : 0)} kB/s` : '');
const eta = (s) => (s < 0 ? '' : s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

async function api(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
  return json;
}

function say(text) {
  $('#message').textContent = text;
}

function act(method, path, body) {
  api(method, path, body).then(
    () => say(''),
    (e) => say(e.message),
  );
}

function render(torrents) {
  tbody.replaceChildren(
    ...torrents.map((t) => {
      const running = t.state !== 'stopped' && t.state !== 'error';
      const toggle = el('button', { textContent: running ? 'Stop' : 'Start', className: 'toggle' });
      toggle.onclick = () => act('POST', `/api/torrents/${t.id}/${running ? 'stop' : 'start'}`);
      const remove = el('button', { textContent: 'Remove', className: 'remove' });
      remove.onclick = () => act('DELETE', `/api/torrents/${t.id}`);
      const name = el('td', { className: 'name', textContent: t.name });
      name.onclick = () => {
        selected = t.id;
        showDetail();
      };
      const tr = el(
        'tr',
        { id: `t${t.id}` },
        name,
        el('td', {}, el('progress', { max: 1, value: t.percentDone }), ` ${Math.floor(t.percentDone * 100)}%`),
        el('td', { className: 'state', textContent: t.errorString ? `error: ${t.errorString}` : t.state }),
        el('td', { textContent: rate(t.rateDownload) }),
        el('td', { textContent: rate(t.rateUpload) }),
        el('td', { textContent: eta(t.eta) }),
        el('td', { textContent: String(t.peersConnected) }),
        el('td', {}, toggle, ' ', remove),
      );
      tr.dataset.state = t.state;
      return tr;
    }),
  );
  if (selected !== undefined) showDetail();
}

async function showDetail() {
  let t;
  try {
    t = (await api('GET', `/api/torrents/${selected}`)).torrent;
  } catch {
    selected = undefined;
    $('#detail').hidden = true;
    return;
  }
  $('#detail').hidden = false;
  $('#detail-name').textContent = t.name;
  $('#files').replaceChildren(
    ...t.files.map((f, i) => {
      const box = el('input', { type: 'checkbox', checked: t.fileStats[i].wanted, className: 'wanted' });
      box.onchange = () => act('POST', `/api/torrents/${t.id}/files`, box.checked ? { wanted: [i] } : { unwanted: [i] });
      // A stable link (by info-hash) that plays or downloads the file while the torrent downloads (Range requests).
      const open = el('a', {
        href: `/api/torrents/${t.hashString}/files/${i}/stream`,
        textContent: 'open',
        className: 'stream',
        target: '_blank',
        rel: 'noopener',
      });
      return el('li', {}, el('label', {}, box, ` ${f.name} — ${Math.floor((f.bytesCompleted / Math.max(1, f.length)) * 100)}%`), ' ', open);
    }),
  );
  $('#peers').replaceChildren(...t.peers.map((p) => el('li', { textContent: `${p.address}:${p.port} ${p.clientName} ${rate(p.rateToClient)}` })));
  $('#trackers').replaceChildren(...t.trackerStats.map((s) => el('li', { textContent: `${s.announce}: ${s.lastAnnounceResult}` })));
}

$('#add').onsubmit = async (ev) => {
  ev.preventDefault();
  const url = $('#add-url').value.trim();
  const file = $('#add-file').files[0];
  try {
    if (file) {
      const bytes = new Uint8Array(await file.arrayBuffer());
      let bin = '';
      for (const b of bytes) bin += String.fromCharCode(b);
      await api('POST', '/api/torrents', { torrent: btoa(bin) });
    } else if (url) await api('POST', '/api/torrents', { url });
    else return say('give a magnet link, a URL or a file');
    $('#add').reset();
    say('');
  } catch (e) {
    say(e.message);
  }
};

const events = new EventSource('/api/events');
events.addEventListener('torrents', (ev) => render(JSON.parse(ev.data).torrents));
events.onopen = () => ($('#conn').textContent = 'live');
events.onerror = () => ($('#conn').textContent = 'reconnecting…');
