/**
 * The stores' drivers are optional peer dependencies: an application
 * installs the one its store needs, and a store loads it when it opens, so
 * that importing `@audit/core` (or another store's entry) never loads it.
 */

/** A store opened without its driver installed; the message names the package to install. */
export class MissingDriverError extends Error {
  override name = 'MissingDriverError'
  constructor(
    readonly packageName: string,
    readonly store: string,
    options?: ErrorOptions,
  ) {
    super(`install ${packageName} to use the ${store} (npm install ${packageName})`, options)
  }
}

/**
 * Runs `load` (an `import()` of `packageName`), turning "package not found"
 * into {@link MissingDriverError}; any other failure (the package is there
 * but broken, or lacks a dependency of its own) is thrown as it came.
 */
export async function loadDriver<T>(packageName: string, store: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load()
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown } | null
    const notFound = e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND'
    if (notFound && String(e.message).includes(`'${packageName}'`)) throw new MissingDriverError(packageName, store, { cause: err })
    throw err
  }
}
