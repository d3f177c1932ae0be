// Thing console: renders a W3C WoT Thing Description and operates the Thing from the browser.
// A TD is untrusted input: its text only ever reaches the page through text nodes and attribute
// values (el() below); nothing from it is parsed as HTML. Credentials live in memory only: they are
// never stored, logged or put into the page URL.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);

  // el builds an element. Strings and numbers among the children become text nodes; attribute
  // names starting with "on" are refused so no TD text can become a handler.
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (/^on/i.test(k)) throw new Error('el: event handler attributes are not allowed');
      if (k === 'text') e.textContent = String(v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of kids.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  let uid = 0;
  const nextID = (p) => p + (++uid);

  // uuid4 works outside secure contexts too (a device at http://192.168.x.y has no
  // crypto.randomUUID), which the Web Thing Protocol needs for messageID and correlationID.
  function uuid4() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const clock = (d) => {
    const t = d instanceof Date && !isNaN(d) ? d : new Date();
    return t.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(t.getMilliseconds()).padStart(3, '0');
  };
  const show = (v) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));
  const UNITS = { percent: '%', 'degree celsius': '°C', celsius: '°C', 'degree fahrenheit': '°F', millisecond: 'ms', second: 's', kelvin: 'K', watt: 'W', volt: 'V', ampere: 'A', metre: 'm', meter: 'm' };
  function unitText(u) {
    if (typeof u !== 'string' || u === '') return '';
    const local = u.includes(':') && !u.includes('://') ? u.slice(u.indexOf(':') + 1) : u;
    return UNITS[local.toLowerCase()] || local;
  }
  const problem = (err) => {
    if (!err) return 'unknown error';
    if (err instanceof Error) return err.message;
    const s = err.detail || err.title || 'error';
    return err.status ? `${s} (status ${err.status})` : s;
  };

  // ---- Data schemas: the subset of JSON Schema a TD's DataSchema uses, to check structured
  // values (objects, arrays) before they are sent.
  function typeOf(v) {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'array';
    if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
    return typeof v;
  }
  function validate(s, v, path, out) {
    if (!s || typeof s !== 'object') return out;
    const at = path || 'value';
    if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(v)) out.push(`${at} must be ${JSON.stringify(s.const)}`);
    if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) out.push(`${at} must be one of ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`);
    if (Array.isArray(s.oneOf) && s.oneOf.length && !s.oneOf.some((o) => validate(o, v, at, []).length === 0)) out.push(`${at} matches none of the allowed schemas`);
    const t = typeOf(v);
    if (typeof s.type === 'string' && s.type !== t && !(s.type === 'number' && t === 'integer')) {
      out.push(`${at} must be ${s.type === 'integer' ? 'an integer' : `of type ${s.type}`}, not ${t}`);
      return out;
    }
    if (t === 'number' || t === 'integer') {
      if (typeof s.minimum === 'number' && v < s.minimum) out.push(`${at} must be at least ${s.minimum}`);
      if (typeof s.maximum === 'number' && v > s.maximum) out.push(`${at} must be at most ${s.maximum}`);
      if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) out.push(`${at} must be greater than ${s.exclusiveMinimum}`);
      if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) out.push(`${at} must be less than ${s.exclusiveMaximum}`);
      if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9) out.push(`${at} must be a multiple of ${s.multipleOf}`);
    } else if (t === 'string') {
      const n = [...v].length;
      if (typeof s.minLength === 'number' && n < s.minLength) out.push(`${at} must have at least ${s.minLength} characters`);
      if (typeof s.maxLength === 'number' && n > s.maxLength) out.push(`${at} must have at most ${s.maxLength} characters`);
      if (typeof s.pattern === 'string') {
        try { if (!new RegExp(s.pattern, 'u').test(v)) out.push(`${at} must match ${s.pattern}`); } catch { /* a pattern JS cannot compile: the Thing decides */ }
      }
    } else if (t === 'array') {
      if (typeof s.minItems === 'number' && v.length < s.minItems) out.push(`${at} must have at least ${s.minItems} items`);
      if (typeof s.maxItems === 'number' && v.length > s.maxItems) out.push(`${at} must have at most ${s.maxItems} items`);
      if (s.items && !Array.isArray(s.items)) v.forEach((x, i) => validate(s.items, x, `${at}[${i}]`, out));
    } else if (t === 'object') {
      for (const r of Array.isArray(s.required) ? s.required : []) if (!(r in v)) out.push(`${at}.${r} is required`);
      const props = s.properties && typeof s.properties === 'object' ? s.properties : {};
      for (const [k, x] of Object.entries(v)) if (props[k]) validate(props[k], x, `${at}.${k}`, out);
    }
    return out;
  }
  const structured = (s) => !s || s.type === 'object' || s.type === 'array' || (!s.type && !Array.isArray(s.enum));

  // editing: live values must not overwrite what the user is typing.
  const editing = (e) => e && document.activeElement === e;

  // ---- Inputs generated from a data schema. Each returns {node, get(), set(v), focus}; get
  // throws an Error whose message is shown inline when the text cannot become a value.
  function inputFor(s, label, opts) {
    s = s || {};
    const id = nextID('in');
    const o = opts || {};
    const labelNode = el('label', { for: id }, label, s.unit ? ` (${unitText(s.unit)})` : '');
    if (Array.isArray(s.enum) && s.enum.length) {
      const sel = el('select', { id, name: o.name });
      if (o.optional) sel.append(el('option', { value: '' }, '(none)'));
      s.enum.forEach((v, i) => sel.append(el('option', { value: String(i) }, show(v))));
      return {
        node: el('div', { class: 'field' }, labelNode, sel),
        get: () => (sel.value === '' ? undefined : s.enum[Number(sel.value)]),
        set: (v) => { const i = s.enum.findIndex((e) => JSON.stringify(e) === JSON.stringify(v)); if (i >= 0 && !editing(sel)) sel.value = String(i); },
        el: sel,
      };
    }
    if (s.type === 'boolean') {
      const cb = el('input', { id, type: 'checkbox', role: 'switch', name: o.name });
      return { node: el('div', { class: 'field switch' }, cb, labelNode), get: () => cb.checked, set: (v) => { cb.checked = v === true; }, el: cb, isSwitch: true };
    }
    if (s.type === 'integer' || s.type === 'number') {
      const step = typeof s.multipleOf === 'number' ? s.multipleOf : s.type === 'integer' ? 1 : 'any';
      const num = el('input', { id, type: 'number', inputmode: s.type === 'integer' ? 'numeric' : 'decimal', step, min: s.minimum, max: s.maximum, name: o.name });
      const parts = [labelNode];
      let range;
      if (typeof s.minimum === 'number' && typeof s.maximum === 'number') {
        range = el('input', { type: 'range', min: s.minimum, max: s.maximum, step, 'aria-label': `${label} slider` });
        // Start where the schema suggests, so the slider never shows a value the field does not hold.
        const start = typeof s.default === 'number' ? s.default : s.minimum;
        range.value = String(start);
        if (!o.optional) num.value = String(start);
        range.addEventListener('input', () => { num.value = range.value; });
        num.addEventListener('input', () => { range.value = num.value; });
        parts.push(el('div', { class: 'pair' }, range, num));
      } else parts.push(num);
      return {
        node: el('div', { class: 'field' }, ...parts),
        get: () => {
          if (num.value.trim() === '') { if (o.optional) return undefined; throw new Error(`${label}: enter a number`); }
          const v = Number(num.value);
          if (!Number.isFinite(v)) throw new Error(`${label}: "${num.value}" is not a number`);
          return v;
        },
        set: (v) => { if (typeof v === 'number' && !editing(num) && !editing(range)) { num.value = String(v); if (range) range.value = String(v); } },
        el: num,
      };
    }
    if (s.type === 'string') {
      const t = el('input', { id, type: 'text', name: o.name, spellcheck: 'false' });
      return { node: el('div', { class: 'field' }, labelNode, t), get: () => (t.value === '' && o.optional ? undefined : t.value), set: (v) => { if (typeof v === 'string' && !editing(t)) t.value = v; }, el: t };
    }
    // Objects, arrays and anything else: JSON text, checked as it is typed.
    const errID = nextID('err');
    const ta = el('textarea', { id, rows: 3, spellcheck: 'false', 'aria-describedby': errID, name: o.name });
    const errs = el('ul', { id: errID, class: 'errors', 'aria-live': 'polite' });
    const check = () => {
      errs.replaceChildren();
      if (ta.value.trim() === '') { ta.removeAttribute('aria-invalid'); return; }
      let list;
      try { list = validate(s, JSON.parse(ta.value), 'value', []); } catch (e) { list = [`not valid JSON: ${e.message}`]; }
      list.forEach((m) => errs.append(el('li', {}, m)));
      if (list.length) ta.setAttribute('aria-invalid', 'true'); else ta.removeAttribute('aria-invalid');
    };
    ta.addEventListener('input', check);
    return {
      node: el('div', { class: 'field json' }, labelNode, ta, errs),
      get: () => {
        if (ta.value.trim() === '') { if (o.optional) return undefined; throw new Error(`${label}: enter a JSON value`); }
        let v;
        try { v = JSON.parse(ta.value); } catch (e) { throw new Error(`${label}: not valid JSON: ${e.message}`); }
        return v;
      },
      set: (v) => { if (v !== undefined && !editing(ta)) { ta.value = JSON.stringify(v, null, 1); check(); } },
      el: ta,
    };
  }

  // An action input: an object of scalars becomes one field per member, anything else one input.
  function actionInput(s) {
    if (!s) return null;
    const props = s.type === 'object' && s.properties && typeof s.properties === 'object' ? Object.entries(s.properties) : null;
    if (!props || !props.length || props.some(([, p]) => structured(p))) return inputFor(s, 'Input (JSON)', {});
    const req = new Set(Array.isArray(s.required) ? s.required : []);
    const fields = props.map(([k, p]) => {
      const f = inputFor(p, titleOf(p, k) + (req.has(k) ? ' *' : ''), { name: k, optional: !req.has(k) });
      if (textOf(p, 'description', 'descriptions')) f.node.append(el('small', {}, textOf(p, 'description', 'descriptions')));
      if (p.default !== undefined) f.set(p.default);
      return [k, f];
    });
    return {
      node: el('fieldset', {}, el('legend', {}, 'Input'), ...fields.map(([, f]) => f.node)),
      get: () => {
        const v = {};
        for (const [k, f] of fields) { const x = f.get(); if (x !== undefined) v[k] = x; }
        return v;
      },
      set: () => {},
      el: fields[0][1].el,
    };
  }

  // ---- TD helpers (TD 1.1 §5.3, §8.3 defaults).
  const OPS = {
    property: (p) => (p.readOnly ? ['readproperty'] : p.writeOnly ? ['writeproperty'] : ['readproperty', 'writeproperty']),
    action: () => ['invokeaction'],
    event: () => ['subscribeevent', 'unsubscribeevent'],
  };
  const asList = (x) => (Array.isArray(x) ? x : x === undefined || x === null ? [] : [x]);

  // ---- Bindings: the one place where a protocol plugs in. A binding says which forms it can use
  // for an operation (accepts), which forms share a session (key), and opens that session. A
  // session has a connection state (idle, connecting, open, closed, refused) reported through
  // ctx.sessionState, and implements readProperty, writeProperty, observeProperty, invokeAction,
  // queryAction, cancelAction and subscribeEvent; each call gets the form's target ({href, form})
  // last. A consumer may use any form it supports (TD 1.1 §5.3.4.2): the console takes the first
  // binding in this list that accepts one of the affordance's forms for the operation (one
  // WebSocket carries everything and can observe), then the first such form.
  const bindings = [];

  // Web Thing Protocol (https://w3c.github.io/web-thing-protocol/): one WebSocket per endpoint,
  // JSON messages matched by correlationID, notifications routed by name.
  bindings.push({
    name: 'Web Thing Protocol',
    accepts: (form, url) => form.subprotocol === 'webthingprotocol' && (url.protocol === 'ws:' || url.protocol === 'wss:'),
    key: (url) => url.href,
    open: (ctx, key) => new WTPSession(ctx, key),
  });

  // HTTP (TD 1.1 §8.3.1 and the WoT HTTP Basic and SSE Profiles): fetch for reads, writes and
  // invocations, EventSource for "sse" observe and subscribe forms; one session per origin. An
  // affordance with no "sse" form is observed by long polling (the next binding), as node-wot
  // offers it.
  const JSONISH = /^application\/([\w.+-]+\+)?json\b/i;
  bindings.push({
    name: 'HTTP',
    accepts: (form, url, op) => {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
      if (form.contentType !== undefined && !JSONISH.test(form.contentType)) return false;
      if (op === 'observeproperty' || op === 'subscribeevent') return form.subprotocol === 'sse';
      return form.subprotocol === undefined;
    },
    key: (url) => url.origin,
    open: (ctx, key) => new HTTPSession(ctx, key, false),
  });
  bindings.push({
    name: 'HTTP long poll',
    accepts: (form, url, op) => (op === 'observeproperty' || op === 'subscribeevent') &&
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      (form.contentType === undefined || JSONISH.test(form.contentType)) &&
      (form.subprotocol === 'longpoll' || form.subprotocol === undefined),
    key: (url) => url.origin,
    open: (ctx, key) => new HTTPSession(ctx, key, true),
  });

  class WTPSession {
    constructor(ctx, url) {
      this.ctx = ctx;
      this.url = url;
      this.pending = new Map();
      this.subs = new Map(); // "p:name" / "e:name" -> {op, name, cb, last}
      this.seen = new Set();
      this.retry = 0;
      this.timer = null;
      this.closed = false;
      this.state = 'idle';
    }
    setState(s, detail) { this.state = s; this.ctx.sessionState(this, s, detail); }
    connect() {
      if (this.closed || this.ws) return;
      clearTimeout(this.timer);
      const u = new URL(this.url);
      const cred = this.ctx.credential();
      if (cred) u.searchParams.set(cred.name, cred.value);
      let ws;
      try { ws = new WebSocket(u.toString(), 'webthingprotocol'); } catch (e) { this.setState('failed', e.message); return; }
      this.ws = ws;
      this.opened = false;
      this.setState('connecting');
      ws.onopen = () => {
        if (ws.protocol !== 'webthingprotocol') { ws.close(1002, 'subprotocol not negotiated'); return; }
        this.opened = true;
        this.retry = 0;
        this.setState('open');
        for (const s of this.subs.values()) this.request(s.op, { name: s.name, lastNotificationID: s.last }).catch((e) => s.onError(e));
        this.ctx.sessionOpened(this);
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = (ev) => {
        this.ws = null;
        for (const p of this.pending.values()) { clearTimeout(p.timer); p.reject(new Error('the connection closed before the Thing answered')); }
        this.pending.clear();
        if (this.closed) return;
        // A handshake refused before opening is most often wrong or missing credentials (browsers
        // do not show the HTTP status of a failed WebSocket handshake).
        if (!this.opened && this.ctx.needsCredential()) { this.setState('refused'); return; }
        const wait = Math.min(500 * 2 ** this.retry++, 10000);
        this.setState('closed', { code: ev.code, wait });
        this.timer = setTimeout(() => { this.timer = null; this.connect(); }, wait);
      };
    }
    reconnect() { clearTimeout(this.timer); this.retry = 0; if (this.ws) this.ws.close(); else this.connect(); }
    close() { this.closed = true; clearTimeout(this.timer); if (this.ws) this.ws.close(1000); for (const p of this.pending.values()) clearTimeout(p.timer); }
    receive(data) {
      let m;
      try { m = JSON.parse(data); } catch { return; }
      if (!m || typeof m !== 'object') return;
      if (m.messageType === 'response') {
        const p = this.pending.get(m.correlationID);
        if (!p) return;
        this.pending.delete(m.correlationID);
        clearTimeout(p.timer);
        if (m.error) { const e = new Error(problem(m.error)); e.problem = m.error; p.reject(e); } else p.resolve(m);
        return;
      }
      if (m.messageType !== 'notification' && m.messageType !== 'event') return;
      if (m.thingID !== undefined && m.thingID !== this.ctx.thingID) return; // another Thing on a shared endpoint
      if (m.messageID) {
        if (this.seen.has(m.messageID)) return; // a catch-up replay of something already shown
        this.seen.add(m.messageID);
        if (this.seen.size > 2000) this.seen.delete(this.seen.values().next().value);
      }
      const isEvent = /event|subscribeproperty/.test(m.operation || '') || m.messageType === 'event';
      const s = this.subs.get((isEvent ? 'e:' : 'p:') + m.name);
      if (!s) return;
      s.last = m.messageID || s.last;
      s.cb(isEvent ? (m.data !== undefined ? m.data : m.value) : m.value, m.timestamp ? new Date(m.timestamp) : new Date());
    }
    request(op, extra) {
      return new Promise((resolve, reject) => {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) { reject(new Error('not connected to the Thing')); return; }
        const cid = uuid4();
        const msg = { thingID: this.ctx.thingID, messageID: uuid4(), messageType: 'request', operation: op, correlationID: cid };
        for (const [k, v] of Object.entries(extra || {})) if (v !== undefined) msg[k] = v;
        const timer = setTimeout(() => { this.pending.delete(cid); reject(new Error('the Thing did not answer within 15 s')); }, 15000);
        this.pending.set(cid, { resolve, reject, timer });
        this.ws.send(JSON.stringify(msg));
      });
    }
    async readProperty(name) { return (await this.request('readproperty', { name })).value; }
    async writeProperty(name, value) { const m = await this.request('writeproperty', { name, value }); return 'value' in m ? { value: m.value } : {}; }
    observeProperty(name, cb, onError) { return this.subscribe('p:', 'observeproperty', name, cb, onError); }
    subscribeEvent(name, cb, onError) { return this.subscribe('e:', 'subscribeevent', name, cb, onError); }
    subscribe(kind, op, name, cb, onError) {
      const s = { op, name, cb, onError };
      this.subs.set(kind + name, s);
      if (this.state === 'open') this.request(op, { name }).catch((e) => onError(e));
    }
    // invokeAction answers {output} (synchronous) or {status: {actionID, state}} (asynchronous).
    async invokeAction(name, input) {
      const m = await this.request('invokeaction', { name, input });
      return m.status ? { handle: m.status.actionID, state: m.status.state, output: m.status.output } : { output: m.output };
    }
    async queryAction(handle) {
      const m = await this.request('queryaction', { actionID: handle });
      const st = m.status || {};
      return { state: st.state || st.status, output: st.output, error: st.error };
    }
    async cancelAction(handle) { await this.request('cancelaction', { actionID: handle }); }
  }

  class HTTPSession {
    constructor(ctx, origin, longPoll) {
      this.ctx = ctx;
      this.origin = origin;
      this.longPoll = longPoll;
      this.sources = new Set();
      this.state = 'idle';
    }
    setState(s) { if (this.state !== s) { this.state = s; this.ctx.sessionState(this, s); } }
    connect() {
      this.closed = false;
      this.setState('open');
      for (const src of this.sources) if (!src.es) src.open();
      this.ctx.sessionOpened(this);
    }
    reconnect() { for (const es of this.sources) es.reopen(); this.connect(); }
    close() { this.closed = true; for (const es of this.sources) es.close(); this.sources.clear(); }
    // url applies the credential: a header for fetch when the scheme allows it, else the query.
    url(href, forEventSource) {
      const u = new URL(href);
      const c = this.ctx.credential();
      if (c && (forEventSource || c.in === 'query')) u.searchParams.set(c.name, c.value);
      return u.toString();
    }
    async call(method, href, form, body, signal) {
      const headers = { Accept: 'application/json' };
      const c = this.ctx.credential();
      if (c && c.in !== 'query') headers[c.header || 'Authorization'] = c.kind === 'bearer' ? `Bearer ${c.value}` : c.value;
      const init = { method: (form && form['htv:methodName']) || method, headers, credentials: 'omit', cache: 'no-store', signal };
      if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
      let r;
      try { r = await fetch(this.url(href, false), init); } catch (e) {
        if (signal && signal.aborted) throw e; // stopped on purpose: not a failure
        // No automatic retry over HTTP: the state says so and Reconnect reads everything again.
        this.setState('failed');
        throw new Error(`the Thing cannot be reached, or does not allow this page (CORS): ${e.message}`);
      }
      if (r.status === 401 && this.ctx.needsCredential()) this.setState('refused'); else if (!this.closed) this.setState('open');
      const text = await r.text();
      let data;
      if (text !== '') { try { data = JSON.parse(text); } catch { data = text; } }
      if (!r.ok) {
        const p = data && typeof data === 'object' ? data : { status: r.status, title: r.statusText, detail: typeof data === 'string' ? data.slice(0, 300) : undefined };
        if (p.status === undefined) p.status = r.status;
        const e = new Error(problem(p));
        e.problem = p;
        throw e;
      }
      return { status: r.status, data, location: r.headers.get('Location') };
    }
    async readProperty(name, t) { return (await this.call('GET', t.href, t.form)).data; }
    async writeProperty(name, value, t) { const r = await this.call('PUT', t.href, t.form, value); return r.data !== undefined ? { value: r.data } : {}; }
    // An asynchronous invocation answers 201 with the ActionStatus URL in Location (HTTP Basic
    // Profile); that URL is the handle for queryAction and cancelAction.
    async invokeAction(name, input, t) {
      const r = await this.call('POST', t.href, t.form, input);
      if (r.status === 201 && (r.location || (r.data && r.data.href))) {
        const handle = new URL(r.location || r.data.href, t.href).toString();
        return { handle, state: (r.data && r.data.status) || 'pending' };
      }
      return { output: r.data };
    }
    async queryAction(handle) { const st = (await this.call('GET', handle)).data || {}; return { state: st.status || st.state, output: st.output, error: st.error }; }
    async cancelAction(handle) { await this.call('DELETE', handle); }
    // observeProperty and subscribeEvent read an SSE stream whose messages are named after the
    // affordance (HTTP SSE Profile); unnamed messages count too (node-wot sends those).
    observeProperty(name, cb, onError, t) { if (this.longPoll) this.poll(cb, onError, t); else this.stream(name, cb, onError, t); }
    subscribeEvent(name, cb, onError, t) { if (this.longPoll) this.poll(cb, onError, t); else this.stream(name, cb, onError, t); }
    // poll long-polls a "longpoll" form: each GET is answered with the next value, and the next
    // GET goes out at once. A refusal (4xx) ends it; the Thing being away is retried with
    // backoff, up to six times in a row.
    poll(cb, onError, t) {
      const self = this;
      const src = {
        es: null, // the running poll's AbortController
        open() {
          const ctl = new AbortController();
          this.es = ctl;
          (async () => {
            for (let fails = 0; !ctl.signal.aborted && !self.closed;) {
              try {
                const r = await self.call('GET', t.href, t.form, undefined, ctl.signal);
                fails = 0;
                if (r.data !== undefined) cb(r.data, new Date());
              } catch (e) {
                if (ctl.signal.aborted || self.closed) return;
                const status = e.problem && e.problem.status;
                if ((status >= 400 && status < 500) || ++fails > 6) { onError(e); return; }
                await new Promise((res) => setTimeout(res, Math.min(500 * 2 ** fails, 10000)));
              }
            }
          })();
        },
        reopen() { this.close(); this.open(); },
        close() { if (this.es) this.es.abort(); this.es = null; },
      };
      this.sources.add(src);
      if (this.state === 'open') src.open(); // else connect() opens it, once credentials are known
    }
    stream(name, cb, onError, t) {
      const self = this;
      const src = {
        es: null,
        open() {
          const es = new EventSource(self.url(t.href, true));
          this.es = es;
          const deliver = (ev) => { let v; try { v = JSON.parse(ev.data); } catch { v = ev.data; } cb(v, new Date()); };
          es.addEventListener(name, deliver);
          if (name !== 'message') es.addEventListener('message', deliver);
          es.onopen = () => { if (!self.closed) self.setState('open'); };
          // EventSource reconnects by itself after a drop; it gives up (CLOSED) on an HTTP error.
          es.onerror = () => {
            if (self.closed) return;
            if (es.readyState === EventSource.CLOSED) { onError(new Error('the Thing refused the event stream')); if (self.ctx.needsCredential()) self.setState('refused'); } else self.setState('connecting');
          };
        },
        reopen() { this.close(); this.open(); },
        close() { if (this.es) this.es.close(); this.es = null; },
      };
      this.sources.add(src);
      if (this.state === 'open') src.open(); // else connect() opens it, once credentials are known
    }
  }

  // bind fixes a form's target into a session's methods, so the views call o.op.method(args).
  function bind(s, t) {
    return {
      readProperty: (n) => s.readProperty(n, t),
      writeProperty: (n, v) => s.writeProperty(n, v, t),
      observeProperty: (n, cb, err) => s.observeProperty(n, cb, err, t),
      invokeAction: (n, input) => s.invokeAction(n, input, t),
      queryAction: (h) => s.queryAction(h, t),
      cancelAction: (h) => s.cancelAction(h, t),
      subscribeEvent: (n, cb, err) => s.subscribeEvent(n, cb, err, t),
    };
  }

  // ---- The console: one Thing at a time.
  const app = {
    tdURL: '',
    td: null,
    sessions: new Map(),
    token: null,
    views: new Map(), // property name -> view
  };

  function setNotice(text) { $('notice').textContent = text || ''; }

  // securityNeeds walks the TD's top-level security (combo included) and returns the scheme the
  // console can satisfy from a browser ({kind: 'bearer'|'apikey', param}), null for nosec, or
  // {unsupported: text}.
  function securityNeeds(t) {
    const defs = t.securityDefinitions && typeof t.securityDefinitions === 'object' ? t.securityDefinitions : {};
    const walk = (names, depth) => {
      if (depth > 8) return { unsupported: 'security schemes nest too deeply' };
      let found = null;
      for (const n of asList(names)) {
        const s = defs[n];
        if (!s || typeof s !== 'object') continue;
        const scheme = String(s.scheme || '').toLowerCase();
        if (scheme === 'nosec') continue;
        if (scheme === 'combo') {
          const alts = asList(s.oneOf).map((x) => walk([x], depth + 1));
          const r = alts.length ? alts.find((a) => !a || !a.unsupported) ?? alts[0] : walk(s.allOf, depth + 1);
          if (r) found = r;
          if (alts.some((a) => a === null)) return null;
          continue;
        }
        if (scheme === 'bearer' || scheme === 'oauth2') {
          // Browsers cannot set headers on a WebSocket handshake: the token goes into the query
          // (RFC 6750 §2.3, "access_token" unless the TD names another parameter with in: query).
          found = { kind: 'bearer', in: s.in === 'query' ? 'query' : 'header', header: s.in === 'header' && s.name ? s.name : 'Authorization', param: s.in === 'query' && s.name ? s.name : 'access_token' };
        } else if (scheme === 'apikey' && (s.in === undefined || s.in === 'query' || s.in === 'header') && s.name) {
          // A header key only reaches HTTP forms; on a WebSocket it goes into the query.
          found = { kind: 'apikey', in: s.in === 'header' ? 'header' : 'query', header: s.name, param: s.name };
        } else {
          found = { unsupported: `the Thing needs "${scheme}" credentials${s.in ? ` in the ${s.in}` : ''}, which a browser cannot send on a WebSocket handshake` };
        }
      }
      return found;
    };
    return walk(t.security, 0);
  }

  const ctx = {
    credential: () => (app.need && app.token !== null ? { kind: app.need.kind, in: app.need.in, header: app.need.header, name: app.need.param, value: app.token } : null),
    needsCredential: () => Boolean(app.need && !app.need.unsupported),
    sessionState: () => renderConn(),
    sessionOpened: () => refreshAll(),
  };

  function renderConn() {
    const states = [...app.sessions.values()].map((s) => s.state);
    const c = $('conn');
    let state = 'idle';
    let text = 'Not connected';
    if (states.includes('refused')) { state = 'refused'; text = '✗ Not connected: credentials refused or Thing unreachable'; askCredential('The connection failed: the Thing refused the credentials or cannot be reached. Check the token and connect again.'); }
    else if (states.includes('closed') || states.includes('failed')) {
      state = 'closed';
      const s = [...app.sessions.values()].find((x) => x.state === 'closed');
      text = '✗ Disconnected' + (s ? ' — reconnecting…' : '');
    } else if (states.includes('connecting')) { state = 'connecting'; text = '… Connecting'; }
    else if (states.length && states.every((s) => s === 'open')) { state = 'open'; text = '✓ Connected'; }
    c.dataset.state = state;
    c.textContent = text;
    $('reconnect').hidden = !(state === 'closed' || state === 'refused');
  }

  function askCredential(msg) {
    const f = $('auth');
    $('authmsg').textContent = msg;
    $('tokenlabel').textContent = app.need && app.need.kind === 'apikey' ? 'API key' : 'Bearer token';
    const wasHidden = f.hidden;
    f.hidden = false;
    if (wasHidden) $('token').focus();
  }

  // formFor returns the session methods bound to the form that carries op for an affordance (see
  // bindings for the choice), or null when the console has no binding for any of its forms.
  function formFor(aff, kind, op) {
    const usable = [];
    for (const f of Array.isArray(aff.forms) ? aff.forms : []) {
      if (!f || typeof f !== 'object' || typeof f.href !== 'string') continue;
      const ops = f.op !== undefined ? asList(f.op) : kind === 'thing' ? [] : OPS[kind](aff);
      if (!ops.includes(op)) continue;
      try { usable.push([f, new URL(f.href, new URL(typeof app.td.base === 'string' && app.td.base ? app.td.base : app.tdURL, app.tdURL))]); } catch { /* not a URL: unusable */ }
    }
    for (const b of bindings) {
      const hit = usable.find(([f, url]) => b.accepts(f, url, op));
      if (!hit) continue;
      const [f, url] = hit;
      const key = `${b.name} ${b.key(url)}`;
      let s = app.sessions.get(key);
      if (!s) { s = b.open(ctx, b.key(url)); app.sessions.set(key, s); }
      return bind(s, { href: url.href, form: f });
    }
    return null;
  }

  function ops(aff, kind) {
    const r = {};
    for (const op of ['readproperty', 'writeproperty', 'observeproperty', 'invokeaction', 'queryaction', 'cancelaction', 'subscribeevent']) {
      const f = formFor(aff, kind, op);
      if (f) r[op] = f;
    }
    return r;
  }

  // Human-readable text in the browser's language when the TD has it (titles/descriptions maps,
  // TD 1.1 §6.3.2), else the default title/description.
  const LANGS = [...(navigator.languages || [navigator.language || 'en'])].flatMap((l) => [l, l.split('-')[0]]);
  function textOf(x, one, many) {
    const m = x[many];
    if (m && typeof m === 'object') for (const l of LANGS) if (typeof m[l] === 'string' && m[l]) return m[l];
    return typeof x[one] === 'string' && x[one] ? x[one] : '';
  }
  const titleOf = (x, fallback) => textOf(x, 'title', 'titles') || fallback;
  const describe = (aff, name) => [
    el('h3', {}, titleOf(aff, name), titleOf(aff, name) !== name ? el('span', { class: 'name' }, ` ${name}`) : null),
    textOf(aff, 'description', 'descriptions') ? el('p', { class: 'desc' }, textOf(aff, 'description', 'descriptions')) : null,
  ];

  function propertyView(name, p) {
    const o = ops(p, 'property');
    const unit = unitText(p.unit);
    const value = el('output', { class: 'value', 'aria-live': 'off' }, '—');
    const when = el('small', { class: 'when' });
    const status = el('p', { class: 'status', role: 'status' });
    const card = el('article', { class: 'card prop', 'data-prop': name }, ...describe(p, name));
    const row = el('p', { class: 'reading' }, el('span', { class: 'sr' }, 'Value: '), value, unit ? el('span', { class: 'unit' }, ` ${unit}`) : null, ' ', when);
    if (o.readproperty || o.observeproperty) card.append(row);
    const v = { name, p, o, input: null, status, setValue: null };
    v.setValue = (x, t) => {
      value.textContent = show(x);
      value.classList.toggle('json', x !== null && typeof x === 'object');
      when.textContent = `at ${clock(t)}`;
      if (v.input) v.input.set(x);
    };
    const say = (text, bad) => { status.textContent = text; status.classList.toggle('bad', Boolean(bad)); };
    v.say = say;
    v.refresh = async () => {
      if (!o.readproperty) return;
      try { v.setValue(await o.readproperty.readProperty(name), new Date()); if (status.classList.contains('bad') && status.dataset.kind === 'read') say(''); } catch (e) { status.dataset.kind = 'read'; say(`Read failed: ${e.message}`, true); }
    };
    const tools = el('div', { class: 'tools' });
    if (o.writeproperty) {
      const inp = inputFor(p, `New ${titleOf(p, name)}`, { name });
      v.input = inp;
      const send = async () => {
        let x;
        try { x = inp.get(); } catch (e) { say(e.message, true); return; }
        if (structured(p)) {
          const errs = validate(p, x, 'value', []);
          if (errs.length) { say(`Not sent: ${errs.join('; ')}`, true); return; }
        }
        say('Writing…');
        try {
          const r = await o.writeproperty.writeProperty(name, x);
          if ('value' in r) { v.setValue(r.value, new Date()); say(`Written: ${show(r.value)}`); return; }
          say('Accepted (the Thing did not confirm the value)');
          v.refresh(); // read back what the Thing holds now
        } catch (e) { status.dataset.kind = 'write'; say(`Refused: ${e.message}`, true); }
      };
      if (inp.isSwitch) {
        inp.el.addEventListener('change', send);
        tools.append(inp.node);
      } else {
        const f = el('form', { class: 'write', novalidate: true }, inp.node, el('button', { type: 'submit' }, 'Write'));
        f.addEventListener('submit', (ev) => { ev.preventDefault(); send(); });
        tools.append(f);
      }
    }
    if (o.readproperty) {
      const b = el('button', { type: 'button', class: 'refresh' }, 'Refresh');
      b.addEventListener('click', v.refresh);
      tools.append(b);
    }
    if (!o.readproperty && !o.writeproperty && !o.observeproperty) status.textContent = `No form this console can use (it speaks ${bindings.map((b) => b.name).join(' and ')}).`;
    else if (!o.observeproperty && o.readproperty) status.textContent = 'Not observable: use Refresh.';
    card.append(tools, status);
    if (o.observeproperty) {
      o.observeproperty.observeProperty(name, (x, t) => v.setValue(x, t), (e) => say(`Observe failed: ${e.message}`, true));
    }
    return [card, v];
  }

  function actionView(name, a) {
    const o = ops(a, 'action');
    const card = el('article', { class: 'card action', 'data-action': name }, ...describe(a, name));
    const runs = el('ol', { class: 'runs', 'aria-live': 'polite', 'aria-label': 'Invocations, newest first' });
    const status = el('p', { class: 'status', role: 'status' });
    if (!o.invokeaction) {
      status.textContent = `No form this console can use (it speaks ${bindings.map((b) => b.name).join(' and ')}).`;
      card.append(status);
      return card;
    }
    const inp = actionInput(a.input);
    const form = el('form', { class: 'invoke', novalidate: true }, inp ? inp.node : null, el('button', { type: 'submit' }, `Invoke ${titleOf(a, name)}`));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      status.textContent = '';
      status.classList.remove('bad');
      let input;
      if (inp) {
        try { input = inp.get(); } catch (e) { status.textContent = e.message; status.classList.add('bad'); return; }
        const errs = validate(a.input, input, 'input', []);
        if (errs.length) { status.textContent = `Not sent: ${errs.join('; ')}`; status.classList.add('bad'); return; }
      }
      const state = el('span', { class: 'state' }, 'sent');
      const out = el('span', { class: 'output' });
      const li = el('li', { class: 'run', 'data-state': 'sent' }, el('time', {}, clock()), ' ', state, input === undefined ? '' : el('code', { class: 'input' }, ` ${show(input)}`), ' ', out);
      runs.prepend(li);
      while (runs.children.length > 20) runs.lastChild.remove();
      const set = (s, text) => { li.dataset.state = s; state.textContent = s; if (text !== undefined) out.textContent = text; };
      try {
        const r = await o.invokeaction.invokeAction(name, input);
        if (r.handle === undefined) { set('completed', r.output === undefined ? '' : `→ ${show(r.output)}`); return; }
        set(r.state || 'pending');
        trackRun(o, r.handle, li, set);
      } catch (e) { set('refused', e.message); }
    });
    card.append(form, status, runs);
    return card;
  }

  // trackRun polls an asynchronous action instance until it ends (the Web Thing Protocol has no
  // action observation) and offers cancel while it runs.
  function trackRun(o, handle, li, set) {
    let done = false;
    const q = o.queryaction || o.invokeaction;
    const c = o.cancelaction;
    let btn = null;
    if (c) {
      btn = el('button', { type: 'button', class: 'cancel', 'aria-label': `Cancel the invocation of ${li.querySelector('time').textContent}` }, 'Cancel');
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        try { await c.cancelAction(handle); done = true; set('cancelled', ''); btn.remove(); } catch (e) { btn.disabled = false; set(li.dataset.state, `cancel refused: ${e.message}`); }
      });
      li.append(' ', btn);
    }
    if (!o.queryaction) { set(li.dataset.state, '(the TD offers no queryaction: the outcome is not shown)'); return; }
    const poll = async () => {
      if (done || !li.isConnected) return;
      try {
        const st = await q.queryAction(handle);
        if (done) return;
        if (st.state === 'completed') { done = true; set('completed', st.output === undefined ? '' : `→ ${show(st.output)}`); }
        else if (st.state === 'failed') { done = true; set('failed', problem(st.error)); }
        else set(st.state || 'running');
      } catch (e) {
        if (done) return;
        if (e.problem && e.problem.status === 404) { done = true; set('gone', 'the Thing no longer knows this invocation'); }
      }
      if (done) { if (btn) btn.remove(); return; }
      setTimeout(poll, 250);
    };
    setTimeout(poll, 250);
  }

  function logEvent(name, e, data, t) {
    const log = $('log');
    const title = titleOf(e, name);
    log.prepend(el('li', { 'data-event': name }, el('time', { datetime: t.toISOString() }, clock(t)), ' ', el('strong', {}, title), data === undefined ? '' : ': ', data === undefined ? '' : el('code', {}, show(data)), e.data && e.data.unit ? ` ${unitText(e.data.unit)}` : ''));
    while (log.children.length > 200) log.lastChild.remove();
  }

  function refreshAll() { for (const v of app.views.values()) v.refresh(); }

  function closeSessions() {
    for (const s of app.sessions.values()) s.close();
    app.sessions.clear();
    app.views.clear();
  }

  // render builds the page for one TD (t, fetched from docURL) and connects.
  function render(t, docURL) {
    closeSessions();
    app.td = t;
    app.tdURL = docURL;
    app.thingID = typeof t.id === 'string' && t.id ? t.id : docURL;
    ctx.thingID = app.thingID;
    const title = titleOf(t, 'Untitled Thing');
    $('title').textContent = title;
    document.title = `${title} — Thing console`;
    $('description').textContent = textOf(t, 'description', 'descriptions');
    const section = (id, map, make) => {
      const box = $(id);
      box.replaceChildren();
      const names = map && typeof map === 'object' ? Object.keys(map) : [];
      if (!names.length) box.append(el('p', { class: 'empty' }, 'None.'));
      for (const n of names) if (map[n] && typeof map[n] === 'object') box.append(make(n, map[n]));
    };
    section('props', t.properties, (n, p) => { const [card, v] = propertyView(n, p); app.views.set(n, v); return card; });
    section('actions', t.actions, actionView);
    const info = $('eventinfo');
    info.replaceChildren();
    $('log').replaceChildren();
    const evs = t.events && typeof t.events === 'object' ? Object.entries(t.events).filter(([, e]) => e && typeof e === 'object') : [];
    const list = el('ul', { class: 'evnames' });
    for (const [n, e] of evs) {
      const o = ops(e, 'event');
      const li = el('li', {}, titleOf(e, n), textOf(e, 'description', 'descriptions') ? el('span', { class: 'desc' }, ` — ${textOf(e, 'description', 'descriptions')}`) : '');
      if (o.subscribeevent) o.subscribeevent.subscribeEvent(n, (d, ts) => logEvent(n, e, d, ts), (err) => li.append(el('span', { class: 'bad' }, ` (subscribe failed: ${err.message})`)));
      else li.append(' (no form this console can use)');
      list.append(li);
    }
    info.append(evs.length ? list : el('p', { class: 'empty' }, 'None.'));
    app.need = securityNeeds(t);
    if (app.need && app.need.unsupported) { setNotice(`Cannot connect: ${app.need.unsupported}.`); renderConn(); return; }
    $('auth').hidden = true;
    if (app.need && app.token === null) { askCredential(`This Thing requires ${app.need.kind === 'apikey' ? 'an API key' : 'a bearer token'}. It is kept in this page only; WebSocket and event-stream URLs carry it as the "${app.need.param}" query parameter, since browsers cannot set headers there.`); renderConn(); return; }
    connectAll();
  }

  function connectAll() {
    for (const s of app.sessions.values()) s.connect();
    if (!app.sessions.size) setNotice('No affordance has a form this console can use.');
    renderConn();
  }

  // load fetches the TD (default: this server's /.well-known/wot, which lists several Things as
  // a JSON array).
  async function load(src) {
    setNotice('');
    // The default is relative to the page (the server fills it in for its prefix), so the console
    // also works behind a reverse proxy that serves the Thing under a path.
    const meta = document.querySelector('meta[name="wot-td"]');
    const url = new URL(src || (meta && meta.content) || '/.well-known/wot', location.href).toString();
    let body;
    try {
      const headers = { Accept: 'application/td+json, application/json' };
      const r = await fetch(url, { headers, credentials: 'same-origin', cache: 'no-cache' });
      if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
      body = await r.json();
    } catch (e) {
      setNotice(`Cannot load the Thing Description from ${url}: ${e.message}. (Another server must allow this page with CORS.)`);
      return;
    }
    const things = (Array.isArray(body) ? body : [body]).filter((x) => x && typeof x === 'object');
    if (!things.length) { setNotice(`${url} holds no Thing Description.`); return; }
    const pick = $('picker');
    const sel = $('thing');
    sel.replaceChildren(...things.map((t, i) => el('option', { value: String(i) }, titleOf(t, `Thing ${i + 1}`))));
    pick.hidden = things.length < 2;
    sel.onchange = () => render(things[Number(sel.value)], url);
    render(things[0], url);
  }

  function start() {
    const params = new URLSearchParams(location.search);
    const src = params.get('td') || '';
    $('tdurl').value = src;
    $('tdform').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = $('tdurl').value.trim();
      const u = new URL(location.href);
      if (v) u.searchParams.set('td', v); else u.searchParams.delete('td');
      history.pushState(null, '', u);
      app.token = null;
      load(v);
    });
    $('auth').addEventListener('submit', (ev) => {
      ev.preventDefault();
      app.token = $('token').value;
      $('token').value = '';
      $('auth').hidden = true;
      closeSessions();
      render(app.td, app.tdURL);
    });
    $('reconnect').addEventListener('click', () => { for (const s of app.sessions.values()) s.reconnect(); });
    $('clearlog').addEventListener('click', () => $('log').replaceChildren());
    window.addEventListener('popstate', () => location.reload());
    load(src);
  }
  start();
})();
