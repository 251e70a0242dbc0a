/** Renders results.json as the figures table of bench/README.md (between its results markers). */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ROOT, fmt, type Result } from './lib.ts'

export function markdownTable(rs: readonly Result[]): string {
  const rows = rs.map((r) => {
    const ratio = r.ratio !== undefined ? `**${r.ratio}×** ${r.baseline}${r.lowerIsBetter ? ' (lower is better)' : ''}` : ''
    const base = r.baselineValue !== undefined ? `${fmt(r.baselineValue)} ${r.unit}` : ''
    const goal = r.goal ? `${r.goal}: ${r.met ? 'met' : '**missed**'}` : ''
    return `| ${r.scenario} | ${r.measure.replace(/\|/g, '\\|')} | ${fmt(r.value)} ${r.unit} | ${base} | ${ratio} | ${goal} |`
  })
  return ['| section | measure | value | baseline | ratio | goal |', '|---|---|---|---|---|---|', ...rows].join('\n')
}

const START = '<!-- results: written by bench/run.ts -->'
const END = '<!-- /results -->'

/** Replaces the table in bench/README.md with these results. */
export async function writeReadmeTable(rs: readonly Result[], header: string): Promise<void> {
  await writeReadmeSection(START, END, `${header}\n\n${markdownTable(rs)}`)
}

/**
 * Replaces what bench/README.md holds between the markers `start` and `end` with `body`;
 * with `heading` (its text before the markers), a README without them gets the section appended.
 */
export async function writeReadmeSection(start: string, end: string, body: string, heading?: string): Promise<void> {
  const file = path.join(ROOT, 'bench/README.md')
  let text = await readFile(file, 'utf8')
  if (!text.includes(start) && heading) text = `${text.trimEnd()}\n\n${heading.trim()}\n\n${start}\n${end}\n`
  const a = text.indexOf(start)
  const b = text.indexOf(end)
  if (a < 0 || b < a) throw new Error(`bench/README.md has no ${start} … ${end} section`)
  await writeFile(file, `${text.slice(0, a + start.length)}\n\n${body}\n\n${text.slice(b)}`)
}

if (process.argv[1]?.endsWith('table.ts')) {
  const json = JSON.parse(await readFile(path.join(ROOT, 'bench/results.json'), 'utf8')) as { date: string; node: string; cores: number; minutes: number; argv: string[]; results: Result[] }
  await writeReadmeTable(json.results, runHeader(json))
}

export function runHeader(j: { date: string; node: string; cores: number; minutes: number; argv: string[] }): string {
  return `Run of ${j.date.slice(0, 16).replace('T', ' ')} UTC: Node ${j.node}, ${j.cores} cores, PostgreSQL 15 on the same machine, \`pnpm bench${j.argv.length ? ` ${j.argv.join(' ')}` : ''}\`, ${j.minutes} minutes in all.`
}
