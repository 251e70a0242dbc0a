import { describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { newEventId } from './uuid7.ts'

describe('newEventId', () => {
  it('makes RFC 9562 version 7 ids that carry the time', () => {
    const before = Date.now()
    const id = newEventId()
    expect(z.uuid({ version: 'v7' }).safeParse(id).success).toBe(true)
    const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
    expect(ms).toBeGreaterThanOrEqual(before)
    expect(ms).toBeLessThanOrEqual(Date.now())
  })

  it('sorts in the order the ids were made, within a millisecond too, and never repeats', () => {
    const ids = Array.from({ length: 200_000 }, () => newEventId())
    expect(new Set(ids).size).toBe(ids.length)
    expect([...ids].sort()).toEqual(ids)
  })

  it('keeps the order when the clock steps back', () => {
    const now = vi.spyOn(Date, 'now')
    now.mockReturnValue(Date.parse('2030-01-01T00:00:01Z'))
    const a = newEventId()
    now.mockReturnValue(Date.parse('2030-01-01T00:00:00Z'))
    const b = newEventId()
    now.mockRestore()
    expect(b > a).toBe(true)
    expect(b.slice(0, 13)).toBe(a.slice(0, 13)) // the later millisecond is kept
  })
})
