// Action 1 panels and the panels that follow the filters (trend, offer, leads, map, top suppliers,
// quality), the sourcing search and the drill-down. Listens to the 'achats-filter' event that the
// filter script sends; works offline from a shared drive (no server, no network).
(function () {
  const F = JSON.parse(document.getElementById('filter-data').textContent);
  const D = JSON.parse(document.getElementById('carto-data').textContent);
  const C = Object.fromEntries(F.cols.map((c, i) => [c, i]));
  const S = Object.fromEntries(D.sup_cols.map((c, i) => [c, i]));
  const fmt = window.achatsFormat, keep = window.achatsKeep;
  const eur = fmt.eur, pct = fmt.pct, num = fmt.num;
  const NB = '\u202f';
  const esc = t => String(t === null || t === undefined ? '' : t).replace(/[&<>"']/g,
    c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
  const qfr = q => { const [y, n] = q.split('-Q'); return (n === '1' ? '1er' : n + 'e') + ' trim. ' + y; };
  const byId = id => document.getElementById(id);
  const FAMILY = {association: 'Associations', cooperative: 'Coopératives', mutuelle: 'Mutuelles',
                  fondation: 'Fondations', societe_commerciale_ess: "Sociétés commerciales de l'ESS"};
  let current = {period: '', entity: '', division: ''};
  let drill = null;  // {kind: 'supplier'|'epci', id}

  function fill(tableId, rowsHtml, cols) {
    const body = document.querySelector('#' + tableId + ' tbody');
    if (!body) return;
    body.innerHTML = rowsHtml.length ? rowsHtml.join('') : '<tr><td colspan="' + cols + '">Aucune donnée</td></tr>';
  }
  const td = (v, cls) => '<td class="' + (cls || 'text') + '">' + esc(v) + '</td>';
  const note = (id, text, parent) => {
    let el = byId(id);
    if (!el) {
      const host = document.querySelector(parent);
      if (!host) return;
      el = document.createElement('p'); el.id = id; el.className = 'note filter-scope'; host.appendChild(el);
    }
    el.textContent = text;
  };

  // --- trend and families ----------------------------------------------------------------
  function trend() {
    const quarters = [...new Set(F.rows.map(r => r[C.q]).filter(q => q))].sort()
      .filter(q => keep(q, '\u0001', '\u0001') || (!current.entity && !current.division ? keep(q, '', '') : keepPeriod(q)));
    const agg = {};
    for (const r of F.rows) {
      if (!r[C.q] || !keep(r[C.q], r[C.e], r[C.d])) continue;
      const a = agg[r[C.q]] = agg[r[C.q]] || {t: 0, lo: 0, pt: 0, hi: 0};
      a.t += r[C.t]; a.lo += r[C.lo]; a.pt += r[C.pt]; a.hi += r[C.hi];
    }
    const qs = quarters.filter(q => keepPeriod(q));
    const x = qs.map(qfr);
    const share = k => qs.map(q => agg[q] && agg[q].t ? 100 * agg[q][k] / agg[q].t : null);
    const fig = byId('fig-trend');
    if (fig && window.Plotly) {
      const inc = new Set(D.incomplete);
      Plotly.restyle(fig, {x: [x, x, x], y: [share('hi'), share('lo'), share('pt')]}, [0, 1, 2]);
      Plotly.restyle(fig, {'marker.symbol': [qs.map(q => inc.has(q) ? 'circle-open' : 'circle')],
        customdata: [qs.map(q => inc.has(q) ? ' (trimestre incomplet)' : '')]}, [2]);
      const t = fig.data.findIndex(tr => tr.meta === 'target');
      if (t >= 0) Plotly.restyle(fig, {x: [x], y: [x.map(() => 100 * D.target)]}, [t]);
    }
    const fam = byId('fig-family');
    if (fam && window.Plotly) {
      const vals = D.families.map(() => ({}));
      for (const r of D.fam) {
        if (!r[0] || !keep(r[0], r[1], r[2])) continue;
        const i = D.families.indexOf(r[3]);
        if (i >= 0) vals[i][r[0]] = (vals[i][r[0]] || 0) + r[4];
      }
      Plotly.restyle(fam, {x: D.families.map(() => x), y: vals.map(v => qs.map(q => v[q] || 0))},
                     D.families.map((_, i) => i));
    }
    const undated = current.period === 'sans date'
      ? 'Période « Sans date » : ces lignes n\'ont pas de trimestre, les graphiques trimestriels sont vides.'
      : '';
    note('trend-scope', undated, '#panel-trend');
  }
  function keepPeriod(q) {
    const p = current.period;
    if (p === 'sans date') return false;
    return !p || (p.length === 4 ? q.startsWith(p) : q === p);
  }

  // --- offer and leads ---------------------------------------------------------------------
  function offer(byDiv) {
    const divs = new Set([...Object.keys(D.offer), ...Object.keys(byDiv)]);
    const rows = [];
    for (const d of divs) {
      if (current.division && d !== current.division) continue;
      const o = D.offer[d] || [F.labels[d] || '', 0, 0, ''];
      const s = byDiv[d] || {t: 0, me: 0};
      rows.push({d: d, label: o[0] || F.labels[d] || '', t: s.t, me: s.me, ess: o[1], inc: o[2], levers: o[3]});
    }
    rows.sort((a, b) => b.ess - a.ess || b.t - a.t || (a.d < b.d ? -1 : 1));
    fill('table-offer', rows.slice(0, 30).map(r => '<tr>' + td(r.d) + td(r.label) + td(eur(r.t), 'eur') +
      td(eur(r.me), 'eur') + td(num(r.ess, 0), 'int') + td(num(r.inc, 0), 'int') + '</tr>'), 6);
    const leads = rows.filter(r => r.t > 0 && r.ess + r.inc > 0 && (r.me / r.t) < 0.5)
      .map(r => Object.assign(r, {score: (r.t - r.me) * Math.log(1 + r.ess + r.inc)}))
      .sort((a, b) => b.score - a.score || (a.d < b.d ? -1 : 1)).slice(0, 15);
    fill('table-opportunities', leads.map((r, i) => '<tr>' + td(num(i + 1, 0), 'int') + td(r.label) +
      td(eur(r.t), 'eur') + td(pct(r.t ? r.me / r.t : null), 'pct') + td(num(r.ess, 0), 'int') +
      td(num(r.inc, 0), 'int') + td(r.levers) + '</tr>'), 7);
    note('offer-scope', 'Dépenses et pistes pour les filtres choisis ; les nombres de structures locales ne dépendent ' +
      'ni de la période ni de l\'entité (l\'offre existe indépendamment des achats).', '#panel-offer');
  }

  // --- suppliers: filtered facts ---------------------------------------------------------------
  function suppliersInFilter() {
    const out = {};
    for (const r of D.sup) {
      if (!keep(r[S.q], r[S.e], r[S.d])) continue;
      const s = out[r[S.k]] = out[r[S.k]] || {t: 0, ess: 0, n: 0, en: 0, fam: new Set(), ev: new Set(), epci: r[S.epci]};
      s.t += r[S.t]; s.ess += r[S.ess]; s.n += r[S.n]; s.en += r[S.en];
      if (r[S.fam]) r[S.fam].split(',').forEach(f => s.fam.add(f));
      if (r[S.ev]) r[S.ev].split(' | ').forEach(e => s.ev.add(e));
    }
    return out;
  }

  function topSuppliers(sup) {
    const named = [], grouped = {t: 0, n: 0, count: 0};
    for (const [siren, s] of Object.entries(sup)) {
      if (!s.en) continue;  // suppliers with lines ESS at their own date; their ESS spend, as counted
      if (D.info[siren]) named.push([siren, s]);
      else { grouped.t += s.ess; grouped.n += s.en; grouped.count += 1; }
    }
    const rows = named.map(([siren, s]) => ({siren: siren, name: D.info[siren][0],
      fam: [...s.fam].sort().map(f => FAMILY[f] || f).join(', '), ev: [...s.ev].sort().join(' | '), t: s.ess, n: s.en}));
    if (grouped.count) rows.push({siren: '', name: 'Entrepreneurs individuels et unités non diffusibles (' +
      grouped.count + ')', fam: '', ev: 'Regroupés : personnes physiques ou unités non diffusibles', t: grouped.t, n: grouped.n});
    rows.sort((a, b) => b.t - a.t || (a.siren < b.siren ? -1 : 1));
    fill('table-top-ess', rows.slice(0, 20).map(r => '<tr' + (r.siren ? ' data-siren="' + r.siren + '" class="clickable"' : '') + '>' +
      (r.siren ? '<td class="text"><a href="#panel-drill" class="drill-supplier" data-siren="' + r.siren + '">' + esc(r.name) + '</a></td>'
               : td(r.name)) + td(r.siren) + td(r.fam) + td(r.ev) + td(eur(r.t), 'eur') + td(num(r.n, 0), 'int') + '</tr>'), 6);
    note('suppliers-scope', 'Dépense ESS et lignes ESS pour les filtres choisis, chaque ligne selon le statut ' +
      'de son fournisseur à sa date (famille et preuve à cette date). ' +
      'Cliquer un nom pour voir ses lignes, ses marchés et ses preuves.', '#panel-suppliers');
  }

  // --- map ---------------------------------------------------------------------------------------
  function map(sup) {
    const fig = byId('fig-map');
    if (!fig || !window.Plotly) return;
    const by = {};
    const communes = {};
    for (const [siren, s] of Object.entries(sup)) {
      const p = D.place[siren] || ['', s.epci, false, false, false];
      const e = by[p[1]] = by[p[1]] || {t: 0, ess: 0, essN: 0, incN: 0};
      e.t += s.t; e.ess += s.ess; if (p[2]) e.essN += 1; if (p[3]) e.incN += 1;
      if (p[0] && !p[4] && (p[2] || p[3])) {
        const c = communes[p[0]] = communes[p[0]] || {ess: 0, inc: 0, t: 0};
        if (p[2]) c.ess += 1; if (p[3]) c.inc += 1; c.t += s.t;
      }
    }
    let top = 0;
    for (const v of Object.values(by)) top = Math.max(top, v.ess);
    top = top || 1;
    const idx = [], names = [], colors = [];
    fig.data.forEach((tr, i) => {
      if (typeof tr.meta !== 'string' || !tr.meta.startsWith('epci:')) return;
      const code = tr.meta.slice(5), r = by[code] || {t: 0, ess: 0, essN: 0, incN: 0};
      idx.push(i);
      names.push((D.epci_names[code] || code) + '<br>Dépense : ' + eur(r.t) + '<br>dont ESS : ' + eur(r.ess) +
        '<br>Fournisseurs ESS : ' + r.essN + ' · inclusifs : ' + r.incN);
      colors.push(D.greens[Math.max(0, Math.min(100, Math.round(100 * r.ess / top)))]);
    });
    if (idx.length) Plotly.restyle(fig, {name: names, fillcolor: colors}, idx);
    const pts = (kind, k, label) => {
      const i = fig.data.findIndex(tr => tr.meta === 'points:' + kind);
      if (i < 0) return;
      const sel = Object.entries(communes).filter(([c, v]) => v[k] > 0 && D.communes[c]);
      Plotly.restyle(fig, {x: [sel.map(([c]) => D.communes[c][0])], y: [sel.map(([c]) => D.communes[c][1])],
        text: [sel.map(([c, v]) => D.communes[c][2] + '<br>' + label + ' : ' + v[k] + '<br>Dépense rapprochée : ' + eur(v.t))],
        'marker.size': [sel.map(([, v]) => 6 + 3 * Math.min(v[k], 10))]}, [i]);
    };
    pts('ess', 'ess', 'Fournisseurs ESS');
    pts('inc', 'inc', 'Fournisseurs inclusifs');
    const o = fig.data.findIndex(tr => tr.meta === 'points:offer');
    if (o >= 0) {
      const per = {};
      for (const e of D.est) {
        if (e[11] !== null || !e[7] || !D.communes[e[7]]) continue;
        if (current.division && !e[17].includes(current.division)) continue;
        (per[e[7]] = per[e[7]] || new Set()).add(e[1]);
      }
      const sel = Object.entries(per);
      Plotly.restyle(fig, {x: [sel.map(([c]) => D.communes[c][0])], y: [sel.map(([c]) => D.communes[c][1])],
        text: [sel.map(([c, v]) => D.communes[c][2] + '<br>Offre locale pas encore fournisseur : ' + v.size)],
        'marker.size': [sel.map(([, v]) => 5 + 2 * Math.min(v.size, 10))]}, [o]);
    }
    const cb = fig.data.findIndex(tr => tr.marker && tr.marker.colorbar);
    if (cb >= 0) Plotly.restyle(fig, {'marker.cmax': top}, [cb]);
    note('map-scope', 'Dépenses et fournisseurs pour les filtres choisis ; triangles : structures locales pas encore ' +
      'fournisseurs (suivent la catégorie). Cliquer une intercommunalité pour le détail.', '#panel-map');
  }

  // --- quality --------------------------------------------------------------------------------
  function quality() {
    const m = {};
    for (const r of D.methods) {
      if (!keep(r[0], r[1], r[2])) continue;
      const k = r[3] + '\u0000' + r[4];
      const a = m[k] = m[k] || {s: r[3], meth: r[4], n: 0, t: 0};
      a.n += r[5]; a.t += r[6];
    }
    const mrows = Object.values(m).sort((a, b) => (a.s + '\u0000' + a.meth < b.s + '\u0000' + b.meth ? -1 : 1));
    fill('table-methods', mrows.map(r => '<tr>' + td(r.s) + td(r.meth) + td(num(r.n, 0), 'int') + td(eur(r.t), 'eur') + '</tr>'), 4);
    const b = {};
    for (const r of D.backlog) {
      if (!keep(r[0], r[1], r[2])) continue;
      const k = r[3] + '\u0000' + r[4];
      const a = b[k] = b[k] || {name: r[3], reason: r[4], n: 0, t: 0};
      a.n += r[5]; a.t += r[6];
    }
    const brows = Object.values(b).sort((x, y) => Math.abs(y.t) - Math.abs(x.t)).slice(0, 20);
    fill('table-backlog', brows.map(r => '<tr>' + td(r.name) + td(r.reason) + td(num(r.n, 0), 'int') + td(eur(r.t), 'eur') + '</tr>'), 4);
    const qrows = current.division ? [] : D.quarantine.filter(r => keep(r[0], r[1], '')).slice(0, 50);
    fill('table-quarantine', qrows.map(r => '<tr>' + td(r[2]) + td(num(r[3], 0), 'int') + td(r[4]) + td(eur(r[5] || 0), 'eur') + '</tr>'), 4);
    note('quality-scope', 'Rapprochement, vérification et quarantaine suivent les filtres (les lignes en quarantaine ' +
      'n\'ont pas de catégorie : aucune sous un filtre de catégorie). Les tableaux des fichiers lus et de leurs totaux ' +
      'portent sur les fichiers entiers et ne suivent pas les filtres.', '#panel-quality');
  }

  // --- sourcing ---------------------------------------------------------------------------------
  const fold = t => String(t || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  function sourcing() {
    const d = byId('sourcing-division').value, w = fold(byId('sourcing-search').value).trim();
    const epci = byId('sourcing-epci').value, untapped = byId('sourcing-untapped').checked;
    const words = w ? w.split(/\s+/) : [];
    const rows = D.est.filter(e => (!d || e[17].includes(d)) && (!epci || e[8] === epci) && (!untapped || e[11] === null) &&
      words.every(x => fold([e[2], e[3], e[4], e[5], e[6], e[9], e[17].map(v => v + ' ' + ((D.offer[v] || [''])[0])).join(' ')].join(' ')).includes(x)));
    rows.sort((a, b) => (b[15] - a[15]) || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : (a[0] < b[0] ? -1 : 1)));
    const units = new Set(rows.map(e => e[1]));
    byId('sourcing-count').textContent = num(units.size, 0) + ' structure' + (units.size > 1 ? 's' : '') + ' (' +
      num(rows.length, 0) + ' établissement' + (rows.length > 1 ? 's' : '') + ')' + (d ? ' pour la division ' + d : '');
    fill('table-sourcing', rows.slice(0, 300).map(e => '<tr data-siret="' + e[0] + '">' +
      '<td class="text"><strong>' + esc(e[2]) + '</strong>' + (e[3] ? '<br>' + esc(e[3]) : '') + '<br><span class="note">SIRET ' + e[0] + '</span></td>' +
      td(e[4]) + td(e[5]) + td(e[6]) + td(e[9]) + td(e[10]) +
      td(e[11] === null ? 'non' : 'oui, ' + eur(e[11])) +
      '<td class="text"><a href="' + esc(e[12]) + '" target="_blank" rel="noopener">Annuaire</a>' +
      (e[13] ? ' · <a href="' + esc(e[13]) + '" target="_blank" rel="noopener">Marché de l\'inclusion</a>' : '') + '</td></tr>'), 8);
    if (rows.length > 300) byId('sourcing-count').textContent += ' — 300 premiers affichés (export Excel pour la liste complète)';
  }

  // --- renewals ---------------------------------------------------------------------------------
  function renewals() {
    const rows = D.renewals.filter(r => r[9] && (!current.division || r[2] === current.division));
    fill('table-renewals', rows.map(r => '<tr>' + td(r[1] + ' (' + r[0] + ')') + td(r[2] + ' ' + r[3]) + td(r[4]) +
      td(r[7]) + td(r[10] === null ? '–' : eur(r[10]), 'eur') + td(r[11]) + td(num(r[12], 0), 'int') +
      td(num(r[13], 0), 'int') + '<td class="text">' + esc(r[15]) +
      (r[12] + r[13] > 0 ? '<br><a href="#panel-sourcing" class="renewal-offer" data-division="' + esc(r[2]) + '">Voir l\'offre locale</a>' : '') +
      '</td></tr>'), 9);
  }

  // --- drill-down ---------------------------------------------------------------------------------
  function showDrill() {
    const host = byId('drill-content');
    if (!drill) { host.innerHTML = '<p class="note">Rien de sélectionné.</p>'; return; }
    const sup = suppliersInFilter();
    if (drill.kind === 'supplier') {
      const siren = drill.id, i = D.info[siren] || ['SIREN ' + siren, '', '', false, false, '', '', '', '', ''];
      const s = sup[siren] || {t: 0, n: 0};
      const lines = (D.lines[siren] || []).filter(l => keep(l[0], l[1], l[2]));
      const contracts = D.renewals.filter(r => r[5].includes(siren));
      host.innerHTML = '<h3 id="drill-title">' + esc(i[0]) + ' — SIREN ' + siren + '</h3>' +
        '<p>' + esc([i[1], i[5], i[7], i[9]].filter(x => x).join(' · ')) + '</p>' +
        '<p><strong>Preuves :</strong> ' + esc(i[2] || 'aucune preuve ESS') + '</p>' +
        '<p id="drill-total">Pour les filtres choisis : ' + eur(s.t) + ' sur ' + num(s.n, 0) + ' lignes.</p>' +
        '<h4>Dernières lignes (au plus ' + num(25, 0) + ' par fournisseur)</h4><table id="table-drill-lines"><thead><tr><th>Date</th>' +
        '<th>Montant</th><th>Entité</th><th>Catégorie saisie</th><th>Fichier</th><th>Ligne</th></tr></thead><tbody>' +
        (lines.length ? lines.map(l => '<tr>' + td(l[3]) + td(eur(l[4]), 'eur') + td(l[1]) + td(l[5]) + td(l[6]) +
          td(num(l[7], 0), 'int') + '</tr>').join('') : '<tr><td colspan="6">Aucune ligne pour ces filtres</td></tr>') +
        '</tbody></table><h4>Marchés (DECP)</h4><table id="table-drill-contracts"><thead><tr><th>Marché</th><th>Notifié le</th>' +
        '<th>Fin estimée</th><th>Montant</th><th>Considérations sociales</th></tr></thead><tbody>' +
        (contracts.length ? contracts.map(r => '<tr>' + td(r[1] + ' (' + r[0] + ')') + td(r[6]) + td(r[7]) +
          td(r[10] === null ? '–' : eur(r[10]), 'eur') + td(r[11]) + '</tr>').join('') :
          '<tr><td colspan="5">Aucun marché publié avec ce titulaire</td></tr>') + '</tbody></table>';
    } else {
      const code = drill.id, name = D.epci_names[code] || code;
      const list = Object.entries(sup).filter(([siren, s]) => (D.place[siren] || ['', s.epci])[1] === code)
        .sort((a, b) => b[1].t - a[1].t);
      let t = 0, ess = 0;
      for (const [, s] of list) { t += s.t; ess += s.ess; }
      const offerUnits = new Set(D.est.filter(e => e[8] === code && (!current.division || e[17].includes(current.division))).map(e => e[1]));
      const untapped = new Set(D.est.filter(e => e[8] === code && e[11] === null && (!current.division || e[17].includes(current.division))).map(e => e[1]));
      host.innerHTML = '<h3 id="drill-title">' + esc(name) + ' (EPCI ' + code + ')</h3>' +
        '<p id="drill-total">Pour les filtres choisis : ' + eur(t) + ' dont ESS ' + eur(ess) + ', ' + num(list.length, 0) +
        ' fournisseurs ; offre locale ESS et inclusive : ' + num(offerUnits.size, 0) + ' structures, dont ' +
        num(untapped.size, 0) + ' pas encore fournisseurs.</p>' +
        '<table id="table-drill-epci"><thead><tr><th>Fournisseur</th><th>ESS</th><th>Montant</th><th>Lignes</th></tr></thead><tbody>' +
        (list.length ? list.slice(0, 50).map(([siren, s]) => '<tr>' +
          (D.info[siren] ? '<td class="text"><a href="#panel-drill" class="drill-supplier" data-siren="' + siren + '">' + esc(D.info[siren][0]) + '</a></td>'
                         : td('Entrepreneur individuel ou unité non diffusible')) +
          td((D.place[siren] || [])[2] ? 'oui' : 'non') + td(eur(s.t), 'eur') + td(num(s.n, 0), 'int') + '</tr>').join('')
          : '<tr><td colspan="4">Aucun fournisseur pour ces filtres</td></tr>') + '</tbody></table>';
    }
  }
  function openSupplier(siren) { drill = {kind: 'supplier', id: siren}; showDrill(); }
  function openEpci(code) { drill = {kind: 'epci', id: code}; byId('drill-epci').value = code; showDrill(); }

  // --- wiring -------------------------------------------------------------------------------------
  const epciOpts = Object.entries(D.epci_names).sort((a, b) => a[1].localeCompare(b[1], 'fr'))
    .map(([c, n]) => '<option value="' + c + '">' + esc(n) + '</option>').join('');
  byId('sourcing-epci').insertAdjacentHTML('beforeend', epciOpts);
  byId('drill-epci').insertAdjacentHTML('beforeend', epciOpts);
  for (const id of ['sourcing-division', 'sourcing-epci', 'sourcing-untapped']) byId(id).addEventListener('change', sourcing);
  byId('sourcing-search').addEventListener('input', sourcing);
  byId('drill-epci').addEventListener('change', e => { if (e.target.value) openEpci(e.target.value); });
  document.addEventListener('click', e => {
    const a = e.target.closest('.drill-supplier');
    if (a) { e.preventDefault(); openSupplier(a.dataset.siren); byId('panel-drill').scrollIntoView(); return; }
    const r = e.target.closest('.renewal-offer');
    if (r) {
      e.preventDefault();
      byId('sourcing-division').value = r.dataset.division; byId('sourcing-search').value = '';
      sourcing(); byId('panel-sourcing').scrollIntoView();
    }
  });
  const mapFig = byId('fig-map');
  if (mapFig && mapFig.on) {
    mapFig.on('plotly_click', ev => {
      const tr = ev && ev.points && ev.points[0] && ev.points[0].data;
      if (tr && typeof tr.meta === 'string' && tr.meta.startsWith('epci:')) openEpci(tr.meta.slice(5));
    });
  }
  document.addEventListener('achats-filter', ev => {
    current = ev.detail;
    trend();
    offer(ev.detail.byDiv);
    const sup = suppliersInFilter();
    topSuppliers(sup);
    map(sup);
    quality();
    byId('sourcing-division').value = current.division;
    sourcing();
    renewals();
    showDrill();
  });
  window.achatsUpdate();
})();
