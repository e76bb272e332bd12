// The notices panel of a draft: what concerns me (unread first counted, marked read on request) and
// the draft's live activity feed, both from activity.js. New notices are announced as they arrive.
import { activity, isUnread, lastSeen, markSeen, noticeKey } from './activity.js'
import { announce, fill, formatTime, h } from './dom.js'
import { paragraphLink } from './links.js'

const FEED_LENGTH = 50

export class NoticesPanel {
  constructor ({ me, draft, name }) {
    this.me = me
    this.draft = draft
    this.name = name
    this.seen = lastSeen(me, draft)
    this.known = null // notice keys already shown: only later ones are announced
    this.count = h('span', { class: 'unread-count', dataset: { test: 'unread' } })
    this.list = h('ul', { class: 'notice-list', dataset: { test: 'notices' } })
    this.feed = h('ol', { class: 'activity-list', dataset: { test: 'activity' } })
    this.feedSummary = h('summary', {}, 'Activity')
    this.markButton = h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.markRead() }, 'Mark all read')
    this.el = h('section', { class: 'notices', 'aria-labelledby': 'notices-title' },
      h('h2', { id: 'notices-title' }, 'Notices ', this.count),
      this.list, this.markButton,
      h('details', { class: 'activity-feed' }, this.feedSummary, this.feed))
  }

  update (state, speakers) {
    const items = activity(state, { me: this.me, name: this.name, speakers })
    const mine = items.filter((item) => item.mine)
    this.mine = mine
    const unread = mine.filter((item) => isUnread(item, this.seen))
    const key = noticeKey
    if (this.known) {
      const fresh = unread.filter((item) => !this.known.has(key(item)))
      if (fresh.length) announce(fresh.map((item) => item.text).join('. '))
    }
    this.known = new Set(mine.map(key))
    this.unread = unread.length
    this.count.textContent = unread.length ? `(${unread.length} unread)` : ''
    this.markButton.hidden = !unread.length
    const entry = (item, unreadNow) => h('li', { class: `notice${unreadNow ? ' unread' : ''}`, dataset: unreadNow ? { kind: item.kind, unread: 'true' } : { kind: item.kind } },
      item.target ? h('a', { href: paragraphLink(this.draft, item.target) }, item.text) : h('span', {}, item.text),
      ' ', h('time', { class: 'muted', datetime: item.at }, formatTime(item.at)))
    fill(this.list, mine.length
      ? mine.slice(0, 20).map((item) => entry(item, isUnread(item, this.seen)))
      : h('li', { class: 'muted' }, 'Nothing for you yet: decisions on your amendments, comment periods and silence procedures will show here.'))
    this.feedSummary.textContent = `Activity (${items.length})`
    fill(this.feed, items.slice(0, FEED_LENGTH).map((item) => entry(item, false)))
    document.title = this.titled(document.title)
  }

  /** The page title with the unread count in front, as mail and chat tabs show it. */
  titled (title) {
    const base = title.replace(/^\(\d+\) /, '')
    return this.unread ? `(${this.unread}) ${base}` : base
  }

  markRead () {
    this.seen = markSeen(this.me, this.draft, this.mine || [])
    this.onRead?.()
  }
}
