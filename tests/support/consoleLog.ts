// A log a test expects (a refusal, an operator warning, a library's complaint) is captured and
// asserted by that test, not printed: the test run's output stays its summary and real warnings.
import { onTestFinished, vi } from 'vitest'

type ConsoleMethod = 'error' | 'warn' | 'log' | 'info'

function describeArgument(value: unknown): string {
  if (typeof value === 'string') return value
  if (value instanceof Error) return `${value.name}: ${value.message}`
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

/**
 * From now to the end of the current test, what is written to `console[method]` is kept
 * instead of printed. Returns a reader of the lines so far, each call's arguments joined by
 * spaces; assert on it: `expect(warned()).toEqual([expect.stringContaining('declined')])`.
 */
export function captureConsole(method: ConsoleMethod = 'error'): () => string[] {
  const lines: string[] = []
  const spy = vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
    lines.push(args.map(describeArgument).join(' '))
  })
  onTestFinished(() => spy.mockRestore())
  return () => [...lines]
}
