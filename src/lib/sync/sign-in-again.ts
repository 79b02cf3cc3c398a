/**
 * The browser's answer to an ended session: sign in again, and come back to this page.
 * Not while the page is already being left (signing out ends the session too, and its
 * own navigation must win the race against the socket's close or a 401).
 */
let leaving = false;

if (typeof window !== 'undefined') {
	window.addEventListener('beforeunload', () => {
		leaving = true;
		// If the page is still here a while later, leaving was called off.
		setTimeout(() => (leaving = false), 10_000);
	});
}

export function isLeaving(): boolean {
	return leaving;
}

export function signInAgain(returnTo: string = window.location.pathname + window.location.search): void {
	if (leaving) return;
	window.location.assign(`/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}&ended=1`);
}
