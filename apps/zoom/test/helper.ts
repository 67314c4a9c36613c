import type { Test } from 'tap'
import { eventually as eventuallyWithin, startServiceApp, type JsonReply, type ServiceTestApp, type ServiceTestAppOptions } from '@switchboard/service-kit/testing'
import { buildApp } from '../src/app.ts'
import { createZoomClient, type ZoomClientOptions } from '../src/client/zoom-client.ts'
import { loadZoomEnv, type ZoomEnv } from '../src/config.ts'

export type CallResult = JsonReply

export interface ZoomTestApp extends ServiceTestApp {
  /** The emulator's base, e.g. http://127.0.0.1:PORT/zoom */
  zoom: string
  /** A fresh access token from the emulator's /oauth/token. */
  token: () => Promise<string>
  /** A call to the emulator's API with a fresh token. */
  zcall: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<CallResult>
  /** Our Zoom client pointed at this emulator. */
  client: (extra?: Partial<ZoomClientOptions>) => ReturnType<typeof createZoomClient>
}

/** The Zoom service on a free port, test database, instant and always successful by default, webhooks off unless asked. */
export async function startZoomApp (t: Test, opts: Pick<ServiceTestAppOptions<ZoomEnv>, 'env' | 'simulation' | 'mockMode'> = {}): Promise<ZoomTestApp> {
  const started = await startServiceApp(t, { service: 'zoom', buildApp, loadEnv: loadZoomEnv, ...opts })
  const { url, call } = started
  const zoom = `${url}/zoom`
  const token = async () => {
    const res = await call('POST', '/zoom/oauth/token?grant_type=account_credentials&account_id=acct-1', undefined, { authorization: `Basic ${Buffer.from('client-id:client-secret').toString('base64')}` })
    if (res.status !== 200) throw new Error(`token request failed: ${res.text}`)
    return res.body.access_token as string
  }
  let cached: string | undefined
  const zcall: ZoomTestApp['zcall'] = async (method, path, body, headers = {}) => {
    cached ??= await token()
    return call(method, `/zoom${path}`, body, { authorization: `Bearer ${cached}`, ...headers })
  }
  const client = (extra: Partial<ZoomClientOptions> = {}) => createZoomClient({ apiBaseUrl: `${zoom}/v2`, oauthBaseUrl: zoom, emulatorBaseUrl: zoom, accountId: 'acct-1', clientId: 'client-id', clientSecret: 'client-secret', ...extra })
  return { ...started, zoom, token, zcall, client }
}

/** Polls until check() passes or the time runs out (for clock- and webhook-driven state): 5 s, every 20 ms, unless told. */
export const eventually = <T>(check: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> => eventuallyWithin(check, timeoutMs, 20)

/** The reference's webhook test vector (providers.md §5). */
export const VECTOR = {
  secret: 'zoom_secret_token_abc',
  timestamp: '1700000000',
  body: '{"event":"meeting.started","event_ts":1700000000123,"payload":{"account_id":"AAAA","object":{"id":"85746065432","uuid":"4444AAAiAAAAAiAiAiiAii==","host_id":"z8yCxjabcdEFGHfp8uQ","topic":"Demo","type":2,"start_time":"2023-11-14T22:13:20Z","timezone":"UTC","duration":30}}}',
  signature: 'v0=bddd47a8731ffa175c655d75d67e1ddb01afad2abab21ec13caa4ff1019160a2',
  plainToken: 'qgg8vlvZRS6UYooatFL8Aw',
  encryptedToken: '80edd1714ed1e0ce28ac44937f9822300ea2bd1361dfcdf1ab38db12171cbd33'
}
