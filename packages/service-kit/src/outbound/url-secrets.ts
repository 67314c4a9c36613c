/**
 * Webhook URLs whose path carries a secret: a provider that signs nothing is authenticated by a
 * token in the URL it is given (AiSensy: …/webhooks/aisensy/<token>, also behind the gateway's
 * /api/webhooks/whatsapp/aisensy/<token>). Such a URL is masked wherever it is logged.
 */
const TOKEN_IN_PATH = /(\/webhooks\/(?:whatsapp\/)?aisensy\/)[^/?#]+/g

/**
 * Credentials in a query string: Zoom's recording downloads take the API token as
 * ?access_token=, a join link carries the passcode as pwd.
 */
const SECRET_IN_QUERY = /([?&](?:access_token|token|api_key|apikey|key|pwd|password|secret|client_secret)=)[^&#]*/gi

/** The URL (or path) with any secret path segment replaced by "[token]", and any credential in its query. */
export function maskUrlSecrets (url: string): string {
  const path = url.includes('aisensy/') ? url.replace(TOKEN_IN_PATH, '$1[token]') : url
  return path.includes('?') ? path.replace(SECRET_IN_QUERY, '$1[REDACTED]') : path
}
