/** The sum of a metric's samples in Prometheus' text whose labels include all those given. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n'))
    if (
      (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) &&
      Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))
    )
      sum += Number(line.split(' ').pop());
  return sum;
}
