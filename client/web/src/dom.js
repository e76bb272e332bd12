// Small DOM helpers: no framework, just elements.

/**
 * h('button', {class: 'x', onclick: fn, disabled: true}, 'text', child, [more])
 * Attributes: `class`, `dataset`, `on*` handlers, booleans, anything else via setAttribute.
 */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue
    if (key === 'class') el.className = value
    else if (key === 'dataset') {
      // Like attributes, a null data value is no attribute (not the string "null").
      for (const [name, data] of Object.entries(value)) if (data != null) el.dataset[name] = data
    }
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else if (key === 'value') el.value = value
    else if (key === 'checked' || key === 'selected') el[key] = !!value
    else if (value === true) el.setAttribute(key, '')
    else el.setAttribute(key, String(value))
  }
  append(el, children)
  return el
}

export function append (el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

/** Replace an element's children. */
export function fill (el, ...children) {
  el.replaceChildren()
  return append(el, children)
}

/** Text for screen readers only. */
export function srOnly (text) {
  return h('span', { class: 'sr-only' }, text)
}

let announceTimer = 0
/** Say something politely to screen readers (the #announcer live region). */
export function announce (message) {
  const region = document.getElementById('announcer')
  if (!region) return
  region.textContent = ''
  clearTimeout(announceTimer)
  announceTimer = setTimeout(() => { region.textContent = message }, 50)
}

let uid = 0
export function nextId (prefix = 'id') {
  uid += 1
  return `${prefix}-${uid}`
}

/** A labelled form control: returns [wrapper, control]. */
export function field (labelText, control, hint) {
  if (!control.id) control.id = nextId('f')
  const hintEl = hint ? h('span', { class: 'hint', id: nextId('hint') }, hint) : null
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id)
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintEl)
}

export function select (options, attrs = {}) {
  return h('select', attrs, options.map(([value, label]) => h('option', { value }, label)))
}

/**
 * A modal <dialog>: keyboard operable (Esc closes, focus stays inside), labelled by its title.
 * `build(close)` returns the body; resolves when closed.
 */
export function modal (title, build) {
  return new Promise((resolve) => {
    const titleId = nextId('dlg')
    const dialog = h('dialog', { class: 'modal', 'aria-labelledby': titleId })
    const close = (value) => {
      dialog.close()
      dialog.remove()
      resolve(value)
    }
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); close(undefined) })
    append(dialog, [h('h2', { id: titleId }, title), build(close)])
    document.body.append(dialog)
    dialog.showModal()
  })
}

/** An element that shows an error (role=alert) or nothing. */
export function errorBox () {
  const box = h('p', { class: 'error', role: 'alert', hidden: true })
  box.show = (message) => {
    box.textContent = message || ''
    box.hidden = !message
  }
  return box
}

// Times.

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
const shortTime = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' })

export function formatTime (iso) {
  if (!iso) return ''
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? String(iso) : timeFormat.format(date)
}

export function formatClock (iso) {
  if (!iso) return ''
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? String(iso) : shortTime.format(date)
}

export function timeEl (iso, text) {
  return h('time', { datetime: iso }, text ?? formatTime(iso))
}

/** "4 min 12 s", "2 h 5 min", "3 d 4 h". */
export function duration (ms) {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  const hours = Math.floor(m / 60)
  if (hours < 48) return `${hours} h ${m % 60} min`
  return `${Math.floor(hours / 24)} d ${hours % 24} h`
}

// One ticker for every countdown on the page.
const tickers = new Set()
setInterval(() => { for (const fn of tickers) fn(Date.now()) }, 1000)

/** Call fn(now) every second until the returned function is called. */
export function everySecond (fn) {
  tickers.add(fn)
  fn(Date.now())
  return () => tickers.delete(fn)
}

/** A stable colour for a participant (or delegation) id: the same on every screen. */
export function colourFor (id) {
  let hash = 2166136261
  for (const char of String(id || '')) {
    hash ^= char.codePointAt(0)
    hash = Math.imul(hash, 16777619)
  }
  // Mix the bits (MurmurHash3's finaliser): similar ids get distant hues.
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  const hue = ((hash >>> 0) % 360)
  return {
    solid: `hsl(${hue} 70% 36%)`,
    // Behind white text (a cursor's name tag): dark enough for 4.5:1 at every hue.
    tag: `hsl(${hue} 70% 26%)`,
    light: `hsl(${hue} 80% 55% / 0.22)`,
    hue
  }
}

export function debounce (fn, ms) {
  let timer = 0
  const wrapped = (...args) => {
    clearTimeout(timer)
    timer = setTimeout(() => fn(...args), ms)
  }
  wrapped.cancel = () => clearTimeout(timer)
  return wrapped
}

/** Save a blob under a file name (a download). */
export function saveBlob (blob, filename) {
  const url = URL.createObjectURL(blob)
  const link = h('a', { href: url, download: filename, hidden: true })
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}
