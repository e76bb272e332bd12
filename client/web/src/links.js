// Deep links: every paragraph, amendment and annotation has a URL on the Text page,
// #/drafts/DRAFT/text/ID, that opens the draft there and brings the item into view.

const base = (draft) => `#/drafts/${encodeURIComponent(draft)}/text`

export const paragraphLink = (draft, id) => `${base(draft)}/${encodeURIComponent(id)}`
export const amendmentLink = paragraphLink
export const annotationLink = paragraphLink

/** The element a Text page shows for an id (paragraph, amendment or annotation), or null. */
export function targetElement (root, id) {
  const escaped = CSS.escape(id)
  return root.querySelector(`.para[data-paragraph="${escaped}"], .amendment[data-amendment="${escaped}"], .annotation[data-annotation="${escaped}"]`)
}

/** Bring a target into view and give it focus; open the folded section it sits in. */
export function reveal (element) {
  for (let up = element.parentElement; up; up = up.parentElement) {
    if (up.tagName === 'DETAILS') up.open = true
  }
  element.dataset.targeted = 'true' // an attribute: re-rendering resets an element's classes
  if (!element.hasAttribute('tabindex')) element.setAttribute('tabindex', '-1')
  element.scrollIntoView({ block: 'center' })
  element.focus({ preventScroll: true })
}
