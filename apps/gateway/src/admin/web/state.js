// What the page knows between refreshes, shared by the tabs.

/**
 * @typedef {{ service: string, id: string, changed: string }} OpenRow
 * @typedef {{ token: string | null, signedIn: boolean, tab: string, settings: any, statuses: Set<string>,
 *   openRow: OpenRow | null, rows: Map<string, HTMLTableRowElement>, items: Map<string, any>, journalSeq: number, journalLoaded: boolean,
 *   timer: ReturnType<typeof setTimeout> | number }} PageState
 */

/** @type {PageState} */
export const state = {
  token: null,
  signedIn: false,
  tab: 'development',
  settings: null,
  statuses: new Set(),
  openRow: null, // { service, id, changed }: the change it shows (format.js changeMark)
  rows: new Map(), // "service/id" → <tr>
  items: new Map(), // "service/id" → the list item it shows
  journalSeq: 0,
  journalLoaded: false,
  timer: 0
}
