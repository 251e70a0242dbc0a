export function ResultBadge({ result }: { result: string }) {
  return <span className={`badge badge-${result}`}>{result}</span>
}

export function SeverityBadge({ severity }: { severity: string }) {
  return <span className={`sev sev-${severity}`}>{severity}</span>
}
