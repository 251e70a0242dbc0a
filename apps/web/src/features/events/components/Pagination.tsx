import { PAGE_SIZES } from '../filters.ts'
import { formatCount, formatTotal } from './format.ts'

interface Props {
  page: number
  size: number
  total: number
  /** False: `total` is an estimate, and `hasMore` decides whether there is a next page. */
  exact: boolean
  hasMore: boolean
  shown: number
  onPage: (page: number) => void
  onSize: (size: number) => void
}

export function Pagination({ page, size, total, exact, hasMore, shown, onPage, onSize }: Props) {
  const first = total === 0 ? 0 : (page - 1) * size + 1
  const last = (page - 1) * size + shown
  return (
    <nav className="pagination" aria-label="Pages">
      <label>
        Rows per page
        <select value={size} onChange={(e) => onSize(Number(e.target.value))}>
          {PAGE_SIZES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <span className="range-label" aria-live="polite">
        {formatCount(first)}–{formatCount(last)} of {formatTotal(total, exact)}
      </span>
      <button type="button" onClick={() => onPage(page - 1)} disabled={page <= 1}>
        ‹ Previous
      </button>
      <button type="button" onClick={() => onPage(page + 1)} disabled={!hasMore}>
        Next ›
      </button>
    </nav>
  )
}
