import type { FastifyReply } from 'fastify'

export { UUID } from '@switchboard/schemas/common'

/**
 * Bolna's error bodies, by evidence (providers.md §4):
 * - 400 / 404 / 5xx: the spec's generic Error, {"error": <status>, "message": "..."};
 * - 403 on a refused key: {"detail": "..."} (live observation, see the auth hook);
 * - 422 on a malformed request: FastAPI's pydantic list, {"detail": [{type, loc, msg, input}]}
 *   (Bolna runs FastAPI, as its auth errors show; the exact items are unverified).
 */
export interface DetailItem { type: string, loc: Array<string | number>, msg: string, input: unknown, ctx?: Record<string, unknown> }

export const detail = (type: string, loc: Array<string | number>, msg: string, input: unknown): DetailItem => ({ type, loc, msg, input: input ?? null })

export const unprocessable = (reply: FastifyReply, items: DetailItem[]) => reply.code(422).send({ detail: items })
export const badRequest = (reply: FastifyReply, message: string) => reply.code(400).send({ error: 400, message })
export const notFound = (reply: FastifyReply, message: string) => reply.code(404).send({ error: 404, message })
