import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { AppProvider } from './app/provider.tsx'
import { ErrorBoundary } from './app/error-boundary.tsx'
import { KeyGate } from './features/auth/components/KeyGate.tsx'
import { EventsPage } from './features/events/components/EventsPage.tsx'
import { readToken } from './lib/auth.ts'
import './styles.css'

readToken() // moves #token=… from the URL into sessionStorage before anything is fetched

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root element')
createRoot(root).render(
  <StrictMode>
    <ErrorBoundary>
      <AppProvider>
        <KeyGate>{(signOut) => <EventsPage signOut={signOut} />}</KeyGate>
      </AppProvider>
    </ErrorBoundary>
  </StrictMode>,
)
