/**
 * The row each table takes, as the services write it: column names are the SQL columns; columns
 * with a database default are optional. Writes are checked against these at compile time, so a
 * service never casts a row to reach the log.
 */
import type { ServiceName } from '@switchboard/schemas/common'
import type { Mode, Table } from './types.ts'

type Nullable<T> = T | null

interface Timestamps {
  created_at?: string
  updated_at?: string
}

export interface EmailLogRow extends Timestamps {
  id: string
  request_id?: Nullable<string>
  mode: Mode
  fallback?: boolean
  batch_id?: Nullable<string>
  to_email: string
  from_email?: Nullable<string>
  subject?: Nullable<string>
  status: string
  provider_message_id?: Nullable<string>
  error?: Nullable<string>
  error_code?: Nullable<string>
  latency_ms?: Nullable<number>
}

export interface WhatsAppLogRow extends Timestamps {
  id: string
  request_id?: Nullable<string>
  mode: Mode
  fallback?: boolean
  campaign_id?: Nullable<string>
  to_number: string
  contact_name?: Nullable<string>
  template_name: string
  params?: string[]
  status: string
  provider_message_id?: Nullable<string>
  error?: Nullable<string>
  error_code?: Nullable<string>
  latency_ms?: Nullable<number>
}

export interface CrmMessageRow extends Timestamps {
  id: string
  request_id?: Nullable<string>
  mode: Mode
  channel: 'whatsapp' | 'email' | 'sms' | 'voice'
  direction: 'outbound' | 'inbound'
  contact: string
  contact_name?: Nullable<string>
  content?: Nullable<string>
  status: string
  source_table?: Nullable<string>
  source_id?: Nullable<string>
  provider_message_id?: Nullable<string>
}

export interface PaymentRow extends Timestamps {
  id: string
  request_id?: Nullable<string>
  mode: Mode
  payment_request_id?: Nullable<string>
  payment_id?: Nullable<string>
  idempotency_key?: Nullable<string>
  amount: string | number
  currency?: string
  purpose: string
  buyer_name?: Nullable<string>
  email?: Nullable<string>
  phone?: Nullable<string>
  status: string
  longurl?: Nullable<string>
  shorturl?: Nullable<string>
  fees?: Nullable<string | number>
  error?: Nullable<string>
  error_code?: Nullable<string>
  latency_ms?: Nullable<number>
  paid_at?: Nullable<string>
}

export interface CallLogRow extends Timestamps {
  id: string
  request_id?: Nullable<string>
  mode: Mode
  fallback?: boolean
  campaign_id?: Nullable<string>
  execution_id?: Nullable<string>
  agent_id?: Nullable<string>
  script_id?: Nullable<string>
  to_number: string
  from_number?: Nullable<string>
  status: string
  duration_seconds?: Nullable<number>
  cost?: Nullable<number>
  recording_url?: Nullable<string>
  transcript?: Nullable<string>
  answered_by_voice_mail?: Nullable<boolean>
  error?: Nullable<string>
  error_code?: Nullable<string>
  latency_ms?: Nullable<number>
}

export interface WhatsAppCampaignRow extends Timestamps {
  id: string
  request_id?: Nullable<string>
  mode: Mode
  name: string
  template_name: string
  status: string
  total?: number
  sent?: number
  failed?: number
  delivered?: number
  read?: number
  error?: Nullable<string>
  completed_at?: Nullable<string>
}

export interface CallCampaignRow extends Timestamps {
  id: string
  request_id?: Nullable<string>
  mode: Mode
  name: string
  script_id: string
  agent_id?: Nullable<string>
  status: string
  total?: number
  initiated?: number
  completed?: number
  failed?: number
  error?: Nullable<string>
  completed_at?: Nullable<string>
}

/**
 * One HTTP exchange with a provider emulator, one webhook post received, or one checkout step
 * (supabase/migrations/20261206130000_create_activity_exchanges.sql): redacted, capped.
 */
export interface ActivityExchangeRow {
  id: string
  /** The service (its CHECK constraint in the migrations lists them too). */
  channel: ServiceName
  kind: 'provider' | 'webhook' | 'checkout'
  direct?: boolean
  method: string
  path: string
  status_code?: Nullable<number>
  latency_ms?: Nullable<number>
  provider_id?: Nullable<string>
  /** Every id the exchange carried: how it is tied to log rows. */
  refs?: string[]
  /** Recipients (emails lower-cased; phone numbers as sent and as digits). */
  contacts?: string[]
  summary?: Nullable<string>
  request?: { headers: Record<string, unknown>, body: unknown }
  response?: { headers: Record<string, unknown>, body: unknown }
  content?: Nullable<Record<string, unknown>>
  event?: Nullable<string>
  verification?: Nullable<{ ok: boolean, status_code: number | null, detail: string }>
  truncated?: boolean
  created_at?: string
}

export interface SettingRow {
  key: string
  value: unknown
  updated_at?: string
  updated_by?: Nullable<string>
}

export interface SettingsChangeRow {
  id: string
  key: string
  from_value?: unknown
  to_value: unknown
  changed_by?: Nullable<string>
  changed_at?: string
}

export interface RowTypes {
  email_logs: EmailLogRow
  whatsapp_logs: WhatsAppLogRow
  crm_messages: CrmMessageRow
  payments: PaymentRow
  call_logs: CallLogRow
  whatsapp_campaigns: WhatsAppCampaignRow
  call_campaigns: CallCampaignRow
  settings: SettingRow
  settings_changes: SettingsChangeRow
  activity_exchanges: ActivityExchangeRow
}

/** The row type of a table. */
export type RowOf<T extends Table> = T extends keyof RowTypes ? RowTypes[T] : never

/** A row as a write gives it: the activity log adds an id when the row has none. */
export type NewRow<T extends Table> = RowOf<T> extends { id: string } ? Omit<RowOf<T>, 'id'> & { id?: string } : RowOf<T>
