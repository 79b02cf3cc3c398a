/**
 * The page's side of the offline shell (the service worker is `src/service-worker.ts`).
 *
 * A worker claims the open pages when it activates, but a page that was still loading at
 * that moment is not claimed, so it would stay outside the worker (no offline shell kept
 * for it, no offline reload) until the person reloads it. Once the page runs, it asks the
 * active worker to claim it.
 */

/** The message a page sends to the active worker to be claimed. */
export const CLAIM_MESSAGE = 'accord:claim';

/** Asks the active service worker to control this page, if it does not yet. */
export function joinOfflineShell(container: ServiceWorkerContainer | undefined = globalThis.navigator?.serviceWorker): void {
	if (!container) return;
	void container.ready.then((registration) => {
		if (!container.controller) registration.active?.postMessage(CLAIM_MESSAGE);
	});
}
