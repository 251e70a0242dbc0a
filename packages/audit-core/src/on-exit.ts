/**
 * Process-exit hooks that do not keep their targets alive, as pino's
 * on-exit-leak-free does for its streams: one `beforeExit` and one `exit`
 * listener for every target together, each target held through a WeakRef
 * (a target nobody else holds can be garbage-collected, and its
 * registration goes with it). Written here rather than taken from
 * on-exit-leak-free 2.1.2, whose finalizer removes the wrong entries
 * (`splice(index, index + 1)`) once several targets are registered.
 */

export interface ExitHandlers<T extends object> {
  /** The event loop has emptied: asynchronous work may start here (it keeps the process alive until done). */
  beforeExit(target: T): void
  /** The process is exiting: synchronous work only. */
  exit(target: T): void
}

interface Registration<T extends object> {
  ref: WeakRef<T>
  handlers: ExitHandlers<T>
}

const registrations = new Set<Registration<object>>()
const finalizer = new FinalizationRegistry<Registration<object>>((r) => {
  registrations.delete(r)
  listen()
})
let listening = false

function each(event: 'beforeExit' | 'exit'): void {
  for (const r of [...registrations]) {
    const target = r.ref.deref()
    if (target === undefined) continue
    try {
      r.handlers[event](target)
    } catch {
      // one target's failure must not keep the others from their hooks
    }
  }
}
const onBeforeExit = () => each('beforeExit')
const onExit = () => each('exit')

/** Keeps the two process listeners present exactly while something is registered. */
function listen(): void {
  if (registrations.size > 0 && !listening) {
    process.on('beforeExit', onBeforeExit)
    process.on('exit', onExit)
    listening = true
  } else if (registrations.size === 0 && listening) {
    process.removeListener('beforeExit', onBeforeExit)
    process.removeListener('exit', onExit)
    listening = false
  }
}

/**
 * Calls `handlers` with `target` when the process is about to exit, for as
 * long as `target` is alive and not unregistered. The handlers must not
 * close over `target` (they receive it), or it could never be collected.
 * Returns the function that unregisters it.
 *
 * @example
 * const off = onProcessExit(queue, { beforeExit: (q) => void q.flush(), exit: (q) => report(q) })
 * off() // on shutdown
 */
export function onProcessExit<T extends object>(target: T, handlers: ExitHandlers<T>): () => void {
  const r: Registration<T> = { ref: new WeakRef(target), handlers }
  registrations.add(r)
  finalizer.register(target, r, r)
  listen()
  return () => {
    if (!registrations.delete(r)) return
    finalizer.unregister(r)
    listen()
  }
}
