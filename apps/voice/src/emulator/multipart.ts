/**
 * Just enough multipart/form-data and CSV for Bolna's batch upload (a CSV file and a few fields).
 * The emulator keeps no dependency for it; uploads are bounded by the route's body limit.
 */

export interface FormPart { name: string, filename?: string, value: Buffer }

/** Splits a multipart body into its parts; undefined when it is not well formed. */
export function parseMultipart (body: Buffer, contentType: string | undefined): FormPart[] | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '')
  const boundary = m?.[1] ?? m?.[2]
  if (!boundary) return undefined
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: FormPart[] = []
  let start = body.indexOf(delimiter)
  if (start < 0) return undefined
  for (;;) {
    start += delimiter.length
    if (body.subarray(start, start + 2).toString() === '--') return parts // closing delimiter
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2
    const next = body.indexOf(delimiter, start)
    if (next < 0) return undefined
    const part = body.subarray(start, next - 2) // the CRLF before the delimiter belongs to it
    const split = part.indexOf('\r\n\r\n')
    if (split < 0) return undefined
    const headers = part.subarray(0, split).toString('utf8')
    const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers)?.[1] ?? ''
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1]
    if (name === undefined) return undefined
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1]
    parts.push({ name, ...(filename !== undefined ? { filename } : {}), value: part.subarray(split + 4) })
    start = next
  }
}

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF line ends. Returns rows of cells. */
export function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  const src = text.replace(/^\uFEFF/, '')
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') { cell += '"'; i++ } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') { row.push(cell); cell = '' } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++
      row.push(cell); cell = ''
      if (row.some(v => v !== '')) rows.push(row)
      row = []
    } else cell += c
  }
  row.push(cell)
  if (row.some(v => v !== '')) rows.push(row)
  return rows
}
