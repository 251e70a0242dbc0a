import { describe, expect, it } from 'vitest'
import { onProcessExit } from './on-exit.ts'

describe('onProcessExit', () => {
  it("calls each target's hooks with the target, a throwing hook keeping no other from its turn; unregistering removes the listeners", () => {
    const beforeExitListeners = process.listeners('beforeExit')
    const exitListeners = process.listeners('exit')
    const calls: string[] = []
    const a = { name: 'a' }
    const b = { name: 'b' }
    const offA = onProcessExit(a, {
      beforeExit: () => {
        throw new Error('a fails')
      },
      exit: (t) => calls.push(`exit ${t.name}`),
    })
    const offB = onProcessExit(b, { beforeExit: (t) => calls.push(`beforeExit ${t.name}`), exit: (t) => calls.push(`exit ${t.name}`) })
    // one listener of each kind for any number of targets
    const onBeforeExit = process.listeners('beforeExit').filter((l) => !beforeExitListeners.includes(l))
    const onExit = process.listeners('exit').filter((l) => !exitListeners.includes(l))
    expect([onBeforeExit.length, onExit.length]).toEqual([1, 1])

    onBeforeExit[0]!(0)
    onExit[0]!(0)
    expect(calls).toEqual(['beforeExit b', 'exit a', 'exit b'])

    offA()
    offA() // a second call changes nothing
    onExit[0]!(0)
    expect(calls.at(-1)).toBe('exit b')
    expect(process.listeners('exit')).toHaveLength(exitListeners.length + 1)
    offB()
    expect(process.listeners('beforeExit')).toEqual(beforeExitListeners)
    expect(process.listeners('exit')).toEqual(exitListeners)
  })
})
