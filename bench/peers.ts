/**
 * The peer tools the bench compares with (reference/peers.md), pinned, installed on demand into
 * bench/.peers: they are measured, never used by the project, so they are not its dependencies.
 */
export const PEER_PACKAGES = ['@stoplight/prism-cli@5.16.0', '@mockoon/cli@9.9.0']

/** How each peer serves an OpenAPI document on a port, as its own docs start it (quietest log level). */
export function peerCommand (peer: 'prism' | 'mockoon', bin: string, spec: string, port: number): string[] {
  return peer === 'prism'
    ? [`${bin}/prism`, 'mock', '-h', '127.0.0.1', '-p', String(port), '-v', 'error', spec]
    : [`${bin}/mockoon-cli`, 'start', '--data', spec, '--port', String(port), '--disable-log-to-file']
}
