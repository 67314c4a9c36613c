/**
 * Bolna signs nothing: its webhooks are trusted by source address (13.203.39.153). The emulator
 * posts from wherever it runs, so its posts carry Switchboard's own scheme instead (service-kit's
 * switchboard-webhook: hex HMAC-SHA256 of "<timestamp>.<raw body>"), documented as ours, under a
 * secret kept in the data folder.
 */
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, switchboardWebhookHeaders, verifySwitchboardWebhook } from '@switchboard/service-kit/switchboard-webhook'
export const SECRET_FILE = 'bolna-emulator-webhook-secret'
