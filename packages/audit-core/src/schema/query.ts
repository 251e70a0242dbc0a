import type { Result, Severity, ActorType } from './event.ts'

/**
 * The filter object every store passes to the SQL functions (snake_case, the
 * same names as the API's query parameters). List fields mean "any of".
 */
export interface EventFilters {
  start_date?: string
  end_date?: string
  operation_type?: string[]
  result?: Result[]
  source?: string[]
  operator?: string[]
  severity?: Severity[]
  tenant_id?: string[]
  actor_type?: ActorType[]
  resource_type?: string[]
  resource_id?: string[]
  request_id?: string[]
  /** Case-insensitive substring of message, operation_type or operator. */
  q?: string
  /** `extra_info ->> key = value` for each entry. */
  extra?: Record<string, string>
}

export type SortOrder = 'asc' | 'desc'

export interface EventQuery {
  filters: EventFilters
  limit: number
  offset?: number
  order?: SortOrder
  /** Keyset cursor: the id of the last event of the previous page. */
  after?: string
  /** Stop counting at this many rows; the page then says the total is a lower bound. */
  countCap?: number
}

export interface EventPage<E> {
  events: E[]
  total: number
  /** True when counting stopped at the cap: `total` is a lower bound. */
  totalCapped: boolean
}
