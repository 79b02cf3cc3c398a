/**
 * The OpenID Connect relying party: authorization code flow with PKCE, state and nonce,
 * through openid-client (v6). Self-contained: no web framework, no database. The caller
 * stores the LoginAttempt server-side between `begin()` and `complete()` and uses it once.
 *
 * Every failure that a person can run into is turned into an OidcError whose `userMessage`
 * is a plain sentence they can act on; the technical detail stays in `message`/`cause`
 * for the log.
 */
import * as oidc from 'openid-client';

export interface OidcSettings {
	/** Issuer identifier, exactly as the provider publishes it (https, or http on loopback). */
	issuer: string;
	clientId: string;
	/** Confidential client secret; omit for a public client (PKCE only). */
	clientSecret?: string;
	/** The registered redirect URI (the app's callback). */
	redirectUri: string;
	/** Where the provider sends the browser after RP-initiated logout. */
	postLogoutRedirectUri?: string;
	/** Space-separated scopes; `openid` is always included. Default `openid profile email`. */
	scopes?: string;
	/** Allow a plain-http issuer that is not on a loopback host (never in production). */
	allowHttp?: boolean;
	/**
	 * Seconds added to this machine's clock when validating tokens (openid-client `clockSkew`).
	 * Only for hosts with a known clock offset; the default 0 is right almost always.
	 */
	clockSkewSeconds?: number;
}

/** One sign-in attempt; store it server-side (e.g. keyed by a short-lived cookie) and use it once. */
export interface LoginAttempt {
	state: string;
	nonce: string;
	codeVerifier: string;
}

export interface VerifiedLogin {
	subject: string;
	issuer: string;
	name: string;
	email: string | null;
	/** All claims of the validated ID token (for role mapping, e.g. `groups`). */
	claims: Record<string, unknown>;
	/** The raw ID token, kept for `id_token_hint` at logout. */
	idToken: string;
}

export type OidcErrorCode = 'discovery' | 'state' | 'token' | 'id-token' | 'provider';

export class OidcError extends Error {
	readonly code: OidcErrorCode;
	/** A plain sentence for the person signing in: no stack traces, no secrets. */
	readonly userMessage: string;

	constructor(code: OidcErrorCode, userMessage: string, detail?: string, options?: { cause?: unknown }) {
		super(detail ? `${code}: ${detail}` : `${code}: ${userMessage}`, options);
		this.name = 'OidcError';
		this.code = code;
		this.userMessage = userMessage;
	}
}

export interface OidcClient {
	readonly issuer: string;
	begin(): Promise<{ url: URL; attempt: LoginAttempt }>;
	complete(callbackUrl: URL, attempt: LoginAttempt): Promise<VerifiedLogin>;
	/** The provider's end-session URL, or null if it has no end_session_endpoint. */
	logoutUrl(idToken: string | null): URL | null;
}

const SIGN_IN_AGAIN = 'This sign-in link was already used or has expired. Please sign in again.';

export async function createOidcClient(settings: OidcSettings): Promise<OidcClient> {
	const issuerUrl = parseUrl(settings.issuer);
	if (!issuerUrl || (issuerUrl.protocol !== 'https:' && issuerUrl.protocol !== 'http:')) {
		throw new OidcError(
			'discovery',
			'Sign-in is not configured correctly: the identity provider address (OIDC_ISSUER) is not a valid http(s) URL.',
			`invalid issuer ${JSON.stringify(settings.issuer)}`
		);
	}
	const redirectUri = parseUrl(settings.redirectUri);
	if (!redirectUri) {
		throw new OidcError(
			'discovery',
			'Sign-in is not configured correctly: the redirect address is not a valid URL.',
			`invalid redirectUri ${JSON.stringify(settings.redirectUri)}`
		);
	}
	if (!settings.clientId) {
		throw new OidcError('discovery', 'Sign-in is not configured correctly: the client ID (OIDC_CLIENT_ID) is missing.');
	}
	const insecure = issuerUrl.protocol === 'http:';
	if (insecure && !settings.allowHttp && !isLoopback(issuerUrl.hostname)) {
		throw new OidcError(
			'discovery',
			`The identity provider address ${issuerUrl.origin} uses plain http. Use its https address instead.`,
			'http issuer on a non-loopback host without allowHttp'
		);
	}

	const metadata: Partial<oidc.ClientMetadata> = {};
	if (settings.clientSecret) metadata.client_secret = settings.clientSecret;
	if (settings.clockSkewSeconds) metadata[oidc.clockSkew] = settings.clockSkewSeconds;

	// Client authentication: the spec default is client_secret_basic; use client_secret_post
	// only when the provider advertises post but not basic. Decided from the discovered metadata.
	const secret = settings.clientSecret;
	const clientAuth: oidc.ClientAuth = secret
		? (as, client, body, headers) => {
				const methods = as.token_endpoint_auth_methods_supported;
				const post = !!methods && methods.includes('client_secret_post') && !methods.includes('client_secret_basic');
				return (post ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret))(as, client, body, headers);
			}
		: oidc.None();

	let configuration: oidc.Configuration;
	try {
		configuration = await oidc.discovery(issuerUrl, settings.clientId, metadata, clientAuth, {
			// Validate ID token signatures against the provider's JWKS as well (openid-client
			// otherwise relies on TLS for tokens from the token endpoint; dev issuers are plain http).
			execute: insecure ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] : [oidc.enableNonRepudiationChecks],
			timeout: 15
		});
	} catch (err) {
		throw discoveryError(issuerUrl, err);
	}

	const server = configuration.serverMetadata();
	const issuer = server.issuer;

	const scope = normaliseScopes(settings.scopes);

	return {
		issuer,

		async begin() {
			const attempt: LoginAttempt = {
				state: oidc.randomState(),
				nonce: oidc.randomNonce(),
				codeVerifier: oidc.randomPKCECodeVerifier()
			};
			const codeChallenge = await oidc.calculatePKCECodeChallenge(attempt.codeVerifier);
			const url = oidc.buildAuthorizationUrl(configuration, {
				redirect_uri: redirectUri.href,
				scope,
				state: attempt.state,
				nonce: attempt.nonce,
				code_challenge: codeChallenge,
				code_challenge_method: 'S256'
			});
			return { url, attempt };
		},

		async complete(callbackUrl, attempt) {
			if (!attempt || !attempt.state || !attempt.nonce || !attempt.codeVerifier) {
				throw new OidcError('state', SIGN_IN_AGAIN, 'no stored login attempt');
			}
			// Rebuild the callback on the registered redirect URI so that a proxy (http vs https,
			// another host name) cannot make the token request's redirect_uri differ.
			const current = new URL(redirectUri.href);
			current.search = callbackUrl.search;

			let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
			try {
				tokens = await oidc.authorizationCodeGrant(configuration, current, {
					expectedState: attempt.state,
					expectedNonce: attempt.nonce,
					pkceCodeVerifier: attempt.codeVerifier,
					idTokenExpected: true
				});
			} catch (err) {
				throw completeError(err);
			}

			const claims = tokens.claims();
			if (!claims || typeof tokens.id_token !== 'string') {
				throw new OidcError(
					'id-token',
					'The identity provider did not confirm who you are. Please sign in again.',
					'no ID token in the token response'
				);
			}
			const all = { ...claims } as Record<string, unknown>;
			const subject = claims.sub;
			const email = typeof all.email === 'string' && all.email ? all.email : null;
			const name =
				nonEmpty(all.name) ?? nonEmpty(all.preferred_username) ?? email ?? subject;
			return { subject, issuer: claims.iss, name, email, claims: all, idToken: tokens.id_token };
		},

		logoutUrl(idToken) {
			if (!server.end_session_endpoint) return null;
			const parameters: Record<string, string> = {};
			if (idToken) parameters.id_token_hint = idToken;
			if (settings.postLogoutRedirectUri) parameters.post_logout_redirect_uri = settings.postLogoutRedirectUri;
			return oidc.buildEndSessionUrl(configuration, parameters);
		}
	};
}

function parseUrl(value: string | undefined): URL | null {
	if (!value) return null;
	try {
		return new URL(value);
	} catch {
		return null;
	}
}

function isLoopback(hostname: string): boolean {
	const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
	return (
		host === 'localhost' ||
		host.endsWith('.localhost') ||
		host === '::1' ||
		/^127(\.\d{1,3}){3}$/.test(host)
	);
}

function normaliseScopes(scopes: string | undefined): string {
	const list = (scopes ?? 'openid profile email').split(/\s+/).filter(Boolean);
	if (!list.includes('openid')) list.unshift('openid');
	return [...new Set(list)].join(' ');
}

function nonEmpty(value: unknown): string | null {
	return typeof value === 'string' && value.trim() ? value : null;
}

/** The most specific message: openid-client wraps oauth4webapi errors in a generic ClientError. */
function detailOf(err: unknown): string {
	if (!(err instanceof Error)) return String(err);
	if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
		const description = err.error_description ? ` (${err.error_description})` : '';
		return `${err.message}: ${err.error}${description}`;
	}
	const cause = (err as { cause?: unknown }).cause;
	if (cause instanceof Error && cause.message && cause.message !== err.message) {
		return `${err.message}: ${cause.message}`;
	}
	return err.message;
}

function codeOf(err: unknown): string | undefined {
	const code = (err as { code?: unknown } | null)?.code;
	return typeof code === 'string' ? code : undefined;
}

/** Provider-supplied text, made safe to show as a sentence (no markup is assumed, still trimmed). */
function providerText(value: unknown): string | null {
	if (typeof value !== 'string') return null;
	const text = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
	if (!text) return null;
	return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function discoveryError(issuer: URL, err: unknown): OidcError {
	const detail = detailOf(err);
	if (err instanceof oidc.ClientError && codeOf(err) === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') {
		const body = (err.cause as { body?: { issuer?: unknown } } | undefined)?.body;
		const actual = typeof body?.issuer === 'string' ? body.issuer : 'a different address';
		return new OidcError(
			'discovery',
			`The identity provider at ${issuer.href} identifies itself as ${actual}. Set OIDC_ISSUER to the provider's exact issuer address.`,
			detail,
			{ cause: err }
		);
	}
	if (err instanceof oidc.ClientError) {
		return new OidcError(
			'discovery',
			`The identity provider at ${issuer.href} did not return valid OpenID Connect settings. Check OIDC_ISSUER.`,
			detail,
			{ cause: err }
		);
	}
	return new OidcError(
		'discovery',
		`Accord could not reach the identity provider at ${issuer.href}. Check OIDC_ISSUER and that the provider is running.`,
		detail,
		{ cause: err }
	);
}

function completeError(err: unknown): OidcError {
	const detail = detailOf(err);

	// The provider redirected back with ?error=... (e.g. access_denied).
	if (err instanceof oidc.AuthorizationResponseError) {
		const reason = providerText(err.error_description) ?? providerText(err.error) ?? 'no reason given';
		const message =
			err.error === 'access_denied'
				? `The identity provider refused the sign-in: ${reason}. Please try again, or ask your administrator for access.`
				: `The identity provider could not sign you in: ${reason}. Please try again.`;
		return new OidcError('provider', message, detail, { cause: err });
	}

	// The token endpoint answered with an OAuth error body.
	if (err instanceof oidc.ResponseBodyError) {
		if (err.error === 'invalid_grant') return new OidcError('token', SIGN_IN_AGAIN, detail, { cause: err });
		if (err.error === 'invalid_client' || err.error === 'unauthorized_client') {
			return new OidcError(
				'token',
				'The identity provider did not accept Accord’s client credentials. Ask your administrator to check OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.',
				detail,
				{ cause: err }
			);
		}
		const reason = providerText(err.error_description) ?? err.error;
		return new OidcError('token', `The identity provider could not complete the sign-in: ${reason}. Please try again.`, detail, {
			cause: err
		});
	}

	if (err instanceof oidc.ClientError) {
		const code = codeOf(err);
		if (/"state"/.test(detail)) return new OidcError('state', SIGN_IN_AGAIN, detail, { cause: err });
		if (/"iss" \(issuer\) (response parameter|missing)|response parameter "iss"/.test(detail)) {
			return new OidcError(
				'provider',
				'The sign-in response came from a different identity provider than the one Accord is configured to use. Please sign in again.',
				detail,
				{ cause: err }
			);
		}
		if (/"exp"|expiration/.test(detail)) {
			return new OidcError(
				'id-token',
				'The sign-in confirmation from the identity provider has expired. Check that this computer’s clock is correct, then sign in again.',
				detail,
				{ cause: err }
			);
		}
		if (
			code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' ||
			code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' ||
			code === 'OAUTH_KEY_SELECTION_FAILED' ||
			/JWT|ID Token|id_token/.test(detail)
		) {
			return new OidcError(
				'id-token',
				'Accord could not verify the sign-in confirmation from the identity provider. Please sign in again; if this keeps happening, tell your administrator.',
				detail,
				{ cause: err }
			);
		}
		return new OidcError(
			'token',
			'The identity provider sent an unexpected response. Please sign in again.',
			detail,
			{ cause: err }
		);
	}

	// fetch failures, timeouts, missing code in the callback.
	if (err instanceof TypeError && /code/.test(err.message)) {
		return new OidcError('token', SIGN_IN_AGAIN, detail, { cause: err });
	}
	return new OidcError(
		'token',
		'Accord could not reach the identity provider to finish signing you in. Please try again in a moment.',
		detail,
		{ cause: err }
	);
}
