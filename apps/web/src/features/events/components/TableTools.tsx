import type { Prefs } from '../hooks/use-prefs.ts'
import { COLUMNS } from './EventsTable.tsx'

/** Above the table: which clock times are in, and which columns show (and resetting their widths). */
export function TableTools({ prefs, setPrefs }: { prefs: Prefs; setPrefs: (p: Partial<Prefs>) => void }) {
  return (
    <div className="table-tools">
      <div className="range" role="group" aria-label="Time zone">
        {(['local', 'utc'] as const).map((z) => (
          <button key={z} type="button" className={prefs.zone === z ? 'seg active' : 'seg'} aria-pressed={prefs.zone === z} onClick={() => setPrefs({ zone: z })}>
            {z === 'utc' ? 'UTC' : 'Local'}
          </button>
        ))}
      </div>
      <details className="columns-menu">
        <summary>Columns</summary>
        <fieldset>
          <legend className="sr-only">Columns to show</legend>
          {COLUMNS.map((c) => (
            <label key={c.id}>
              <input
                type="checkbox"
                checked={!prefs.hidden.includes(c.id)}
                onChange={(e) => setPrefs({ hidden: e.target.checked ? prefs.hidden.filter((h) => h !== c.id) : [...prefs.hidden, c.id] })}
              />
              {c.label}
            </label>
          ))}
          <button type="button" disabled={Object.keys(prefs.widths).length === 0} onClick={() => setPrefs({ widths: {} })}>
            Reset widths
          </button>
        </fieldset>
      </details>
    </div>
  )
}
