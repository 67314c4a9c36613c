/**
 * Webhook URLs whose path carries a secret: a provider that signs nothing is authenticated by a
 * token in the URL it is given (AiSensy: …/webhooks/aisensy/<token>, also behind the gateway's
 * /api/webhooks/whatsapp/aisensy/<token>). Such a URL is masked wherever it is logged.
 */
const TOKEN_IN_PATH = /(\/webhooks\/(?:whatsapp\/)?aisensy\/)[^/?#]+/g

/** The URL (or path) with any secret path segment replaced by "[token]". */
export function maskUrlSecrets (url: string): string {
  return url.includes('aisensy/') ? url.replace(TOKEN_IN_PATH, '$1[token]') : url
}
