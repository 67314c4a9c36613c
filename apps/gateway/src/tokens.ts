// The tokens live in service-kit: the services check the admin and internal tokens too.
export { resolveTokens, type Tokens } from '@switchboard/service-kit/tokens'
