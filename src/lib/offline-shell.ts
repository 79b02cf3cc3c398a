/**
 * The page's side of the offline shell (the service worker is `src/service-worker.ts`).
 *
 * A worker claims the open pages when it activates, but a page that was still loading at
 * that moment is not claimed, so it would stay outside the worker (no offline shell kept
 * for it, no offline reload) until the person reloads it. Once the page runs, it asks the
 * active worker to claim it and to keep the page for a reload without a network.
 */

/** The message a page sends to the active worker to be claimed. */
export const CLAIM_MESSAGE = 'accord:claim';

/** What a page outside the worker sends it: be claimed, and keep this page for offline use. */
export interface ClaimRequest {
	type: typeof CLAIM_MESSAGE;
	/** The page's address: it loaded before the worker could keep it, so the worker fetches it once more. */
	url: string;
}

export function isClaimRequest(data: unknown): data is ClaimRequest {
	return typeof data === 'object' && data !== null && (data as ClaimRequest).type === CLAIM_MESSAGE && typeof (data as ClaimRequest).url === 'string';
}

/** Asks the active service worker to control this page, if it does not yet. */
export function joinOfflineShell(container: ServiceWorkerContainer | undefined = globalThis.navigator?.serviceWorker): void {
	if (!container) return;
	void container.ready.then((registration) => {
		if (container.controller) return;
		const request: ClaimRequest = { type: CLAIM_MESSAGE, url: location.href };
		registration.active?.postMessage(request);
	});
}
