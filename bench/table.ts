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
  const file = path.join(ROOT, 'bench/README.md')
  const text = await readFile(file, 'utf8')
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a < 0 || b < a) throw new Error(`bench/README.md has no ${START} … ${END} section`)
  await writeFile(file, `${text.slice(0, a + START.length)}\n\n${header}\n\n${markdownTable(rs)}\n\n${text.slice(b)}`)
}

if (process.argv[1]?.endsWith('table.ts')) {
  const json = JSON.parse(await readFile(path.join(ROOT, 'bench/results.json'), 'utf8')) as { date: string; node: string; cores: number; minutes: number; argv: string[]; results: Result[] }
  await writeReadmeTable(json.results, runHeader(json))
}

export function runHeader(j: { date: string; node: string; cores: number; minutes: number; argv: string[] }): string {
  return `Run of ${j.date.slice(0, 16).replace('T', ' ')} UTC: Node ${j.node}, ${j.cores} cores, PostgreSQL 15 on the same machine, \`pnpm bench${j.argv.length ? ` ${j.argv.join(' ')}` : ''}\`, ${j.minutes} minutes in all.`
}
