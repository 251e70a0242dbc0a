import { Component, type ErrorInfo, type ReactNode } from 'react'

/** Anything the page throws while rendering: a message and a way back, never a blank page. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null }

  static getDerivedStateFromError(error: Error) {
    return { error }
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('the events page failed to render', error, info.componentStack)
  }

  render() {
    if (!this.state.error) return this.props.children
    return (
      <main className="signin">
        <div className="state error-state" role="alert">
          <h1>Something went wrong</h1>
          <p>The page could not show this view: {this.state.error.message}</p>
          <p>
            <a href={window.location.pathname}>Open the default view</a> or <button type="button" onClick={() => window.location.reload()}>Reload</button>
          </p>
        </div>
      </main>
    )
  }
}
