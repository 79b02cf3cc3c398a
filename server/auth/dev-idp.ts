/**
 * The built-in development identity provider: a real OpenID Provider (oidc-provider v9)
 * with the demo people, mounted in-process under a path (default `/idp`) of an existing
 * Node HTTP server. Only for development — every page says so.
 *
 * Flow: authorization code + PKCE (required). The login page lists the demo people; picking
 * one finishes login and consent in one step (a Grant with the requested scopes is created).
 * `groups` is released in the ID token (conformIdTokenClaims: false), so the relying party
 * can map roles from the ID token alone.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
// oidc-provider ships no type declarations; the parts used here are typed below.
// @ts-ignore -- untyped module (TS7016 under some configurations only, hence not ts-expect-error)
import { Provider as OidcProvider } from 'oidc-provider';

export interface DevUser {
	id: string;
	name: string;
	email: string;
	groups: string[];
}

/** The demo team (ids, names and emails match DEMO_PEOPLE in src/lib/people.ts). */
export const DEV_USERS: readonly DevUser[] = Object.freeze([
	{ id: 'alice', name: 'Alice Chen', email: 'alice@accord.example', groups: ['accord-admins'] },
	{ id: 'bob', name: 'Bob Martin', email: 'bob@accord.example', groups: ['accord-editors'] },
	{ id: 'carol', name: 'Carol Singh', email: 'carol@accord.example', groups: ['accord-viewers'] },
	{ id: 'wang.fang', name: '王芳', email: 'wang.fang@accord.example', groups: ['accord-editors'] },
	{ id: 'li.wei', name: '李伟', email: 'li.wei@accord.example', groups: ['accord-viewers'] }
]);

export interface DevIdpOptions {
	/** The issuer URL, e.g. http://localhost:3000/idp — its path is where the provider is mounted. */
	issuer: string;
	clientId: string;
	clientSecret: string;
	redirectUris: string[];
	postLogoutRedirectUris: string[];
	users?: readonly DevUser[];
}

/** The parts of an oidc-provider `Provider` instance that callers may need. */
export interface DevIdpProvider {
	readonly issuer: string;
	/** Trust X-Forwarded-* headers (set this only behind a TLS-terminating proxy). */
	proxy: boolean;
	callback(): (req: IncomingMessage, res: ServerResponse) => void;
	interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
	interactionFinished(
		req: IncomingMessage,
		res: ServerResponse,
		result: Record<string, unknown>,
		options?: { mergeWithLastSubmission?: boolean }
	): Promise<void>;
	Grant: new (init: { accountId: string; clientId: string }) => ProviderGrant;
	on(event: string, listener: (...args: unknown[]) => void): unknown;
}

interface InteractionDetails {
	uid: string;
	prompt: { name: string; reasons?: string[]; details?: Record<string, unknown> };
	params: Record<string, unknown>;
	session?: { accountId?: string };
	grantId?: string;
}

interface ProviderGrant {
	addOIDCScope(scope: string): void;
	addOIDCClaims(claims: string[]): void;
	save(): Promise<string>;
}

/** The bits of oidc-provider's Koa context used by the page renderers. */
interface PageContext {
	type: string;
	body: unknown;
	status: number;
	set(name: string, value: string): void;
	oidc?: { client?: { clientId?: string; clientName?: string } };
}

const ProviderClass = OidcProvider as unknown as new (issuer: string, configuration: Record<string, unknown>) => DevIdpProvider;

const SCOPES = ['openid', 'profile', 'email', 'groups'] as const;
const TTL = {
	AuthorizationCode: 60,
	IdToken: 5 * 60,
	AccessToken: 5 * 60,
	Interaction: 10 * 60,
	Session: 8 * 60 * 60,
	Grant: 8 * 60 * 60
};
const MAX_FORM_BYTES = 16 * 1024;

export function roleOf(user: DevUser): 'admin' | 'editor' | 'viewer' {
	if (user.groups.includes('accord-admins')) return 'admin';
	if (user.groups.includes('accord-editors')) return 'editor';
	return 'viewer';
}

export function createDevIdp(options: DevIdpOptions): {
	provider: DevIdpProvider;
	/** Node middleware: handles requests whose path starts with the issuer's path; returns false if not its path. */
	handle(req: IncomingMessage, res: ServerResponse): boolean;
} {
	const issuerUrl = new URL(options.issuer);
	const basePath = issuerUrl.pathname.replace(/\/+$/, '');
	const users = options.users ?? DEV_USERS;
	const byId = new Map(users.map((user) => [user.id, user]));

	const provider = new ProviderClass(issuerUrl.href.replace(/\/+$/, ''), {
		clients: [
			{
				client_id: options.clientId,
				client_secret: options.clientSecret,
				client_name: 'Accord',
				redirect_uris: options.redirectUris,
				post_logout_redirect_uris: options.postLogoutRedirectUris,
				response_types: ['code'],
				grant_types: ['authorization_code'],
				token_endpoint_auth_method: 'client_secret_basic'
			}
		],
		responseTypes: ['code'],
		pkce: { required: () => true },
		scopes: [...SCOPES],
		claims: { openid: ['sub'], profile: ['name'], email: ['email'], groups: ['groups'] },
		// Release scope claims (name, email, groups) in the ID token, not only at userinfo.
		conformIdTokenClaims: false,
		features: {
			devInteractions: { enabled: false },
			rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource }
		},
		interactions: {
			url: (_ctx: unknown, interaction: { uid: string }) => `${basePath}/interaction/${interaction.uid}`
		},
		cookies: {
			keys: [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')],
			names: {
				session: 'accord_idp_session',
				interaction: 'accord_idp_interaction',
				resume: 'accord_idp_resume'
			}
		},
		jwks: { keys: [signingKey()] },
		ttl: { ...TTL },
		async findAccount(_ctx: unknown, id: string) {
			const user = byId.get(id);
			if (!user) return undefined;
			return {
				accountId: user.id,
				async claims() {
					return { sub: user.id, name: user.name, email: user.email, groups: [...user.groups] };
				}
			};
		},
		async renderError(ctx: PageContext, out: Record<string, unknown>) {
			const description =
				typeof out.error_description === 'string' ? out.error_description : 'The sign-in request could not be processed.';
			ctx.type = 'html';
			ctx.set('cache-control', 'no-store');
			ctx.body = page(
				'Sign-in problem',
				`<h1>Sign-in problem</h1>
				<p>${escapeHtml(description)}</p>
				<p class="muted">${escapeHtml(typeof out.error === 'string' ? out.error : 'error')}</p>
				<p>Go back to Accord and sign in again.</p>`
			);
		}
	});

	const oidcCallback = provider.callback();

	async function interactionRoute(req: IncomingMessage, res: ServerResponse, uid: string, action: string) {
		try {
			if (action === '' && (req.method === 'GET' || req.method === 'HEAD')) {
				const details = await provider.interactionDetails(req, res);
				if (details.uid !== uid) return sendPage(res, 400, expiredPage());
				return sendPage(res, 200, loginPage(basePath, uid, users, details.session?.accountId));
			}
			if (req.method !== 'POST' || action === '') {
				res.setHeader('allow', action === '' ? 'GET, HEAD' : 'POST');
				return sendPage(res, 405, page('Not allowed', '<h1>Not allowed</h1>'));
			}
			const form = await readForm(req);
			if (!form) return sendPage(res, 413, page('Too large', '<h1>Request too large</h1>'));
			const details = await provider.interactionDetails(req, res);
			if (details.uid !== uid) return sendPage(res, 400, expiredPage());

			if (action === 'abort') {
				return await provider.interactionFinished(
					req,
					res,
					{ error: 'access_denied', error_description: 'The user cancelled the development sign-in' },
					{ mergeWithLastSubmission: false }
				);
			}

			const userId = form.get('user') ?? '';
			const user = byId.get(userId);
			if (!user) {
				return sendPage(
					res,
					400,
					page(
						'Unknown user',
						`<h1>Unknown user</h1><p>There is no development user called “${escapeHtml(userId)}”.</p>
						<p><a href="${escapeHtml(`${basePath}/interaction/${uid}`)}">Choose a user</a></p>`
					)
				);
			}

			const clientId = String(details.params.client_id ?? '');
			const requested = new Set(String(details.params.scope ?? '').split(/\s+/).filter(Boolean));
			const grant = new provider.Grant({ accountId: user.id, clientId });
			const granted = SCOPES.filter((scope) => requested.has(scope));
			if (granted.length > 0) grant.addOIDCScope(granted.join(' '));
			const missingClaims = details.prompt.details?.missingOIDCClaims;
			if (Array.isArray(missingClaims) && missingClaims.length > 0) grant.addOIDCClaims(missingClaims.map(String));
			const grantId = await grant.save();

			await provider.interactionFinished(
				req,
				res,
				{ login: { accountId: user.id, remember: false }, consent: { grantId } },
				{ mergeWithLastSubmission: false }
			);
		} catch (err) {
			if ((err as { name?: string } | null)?.name === 'SessionNotFound') return sendPage(res, 400, expiredPage());
			console.error('[dev-idp] interaction failed', err);
			if (!res.headersSent) sendPage(res, 500, page('Error', '<h1>Something went wrong</h1><p>Go back to Accord and sign in again.</p>'));
			else res.end();
		}
	}

	function handle(req: IncomingMessage, res: ServerResponse): boolean {
		const rawUrl = req.url ?? '/';
		const queryAt = rawUrl.indexOf('?');
		const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
		if (basePath && path !== basePath && !path.startsWith(`${basePath}/`)) return false;

		const rest = rawUrl.slice(basePath.length);
		const restPath = path.slice(basePath.length);
		const match = /^\/interaction\/([A-Za-z0-9_-]{1,128})(?:\/(login|abort))?\/?$/.exec(restPath);
		if (match) {
			void interactionRoute(req, res, match[1], match[2] ?? '');
			return true;
		}

		// Hand everything else under the path to oidc-provider, mounted the way connect/express
		// do it: originalUrl keeps the full path so the provider builds correct absolute URLs.
		(req as IncomingMessage & { originalUrl?: string }).originalUrl = rawUrl;
		req.url = rest.startsWith('/') ? rest : `/${rest}`;
		oidcCallback(req, res);
		return true;
	}

	return { provider, handle };
}

function signingKey(): Record<string, unknown> {
	const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>;
	// RFC 7638 thumbprint as the key id: unique per generated key.
	const kid = createHash('sha256')
		.update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
		.digest('base64url');
	return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of req) {
		const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
		size += buffer.length;
		if (size > MAX_FORM_BYTES) return null;
		chunks.push(buffer);
	}
	return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function sendPage(res: ServerResponse, status: number, html: string): void {
	res.statusCode = status;
	res.setHeader('content-type', 'text/html; charset=utf-8');
	res.setHeader('cache-control', 'no-store');
	res.setHeader('x-frame-options', 'DENY');
	res.setHeader('x-content-type-options', 'nosniff');
	res.setHeader('referrer-policy', 'no-referrer');
	res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'");
	res.end(html);
}

export function escapeHtml(value: string): string {
	return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;background:#f4f5f7;color:#1f2328}
.banner{background:#fff3bf;border-bottom:2px solid #f59f00;color:#5c3c00;padding:12px 16px;text-align:center;font-weight:600}
.banner span{display:block;font-weight:500}
main{max-width:440px;margin:32px auto;padding:0 16px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:10px;padding:24px}
h1{font-size:20px;margin:0 0 6px}
p{margin:0 0 14px}
.muted{color:#59636e;font-size:13px}
.users{display:grid;gap:10px;margin:18px 0}
.user{display:flex;align-items:center;justify-content:space-between;gap:12px;width:100%;text-align:left;padding:12px 14px;border:1px solid #d0d7de;border-radius:8px;background:#fff;font:inherit;color:inherit;cursor:pointer}
.user:hover,.user:focus-visible{border-color:#1971c2;background:#f0f6ff;outline:none}
.who b{display:block}
.who small{color:#59636e}
.role{font-size:12px;font-weight:600;padding:2px 8px;border-radius:99px;text-transform:uppercase;letter-spacing:.03em}
.role-admin{background:#ffe3e3;color:#a61e1e}.role-editor{background:#d3f9d8;color:#1b6b2c}.role-viewer{background:#e7f5ff;color:#1864ab}
.current{font-size:12px;color:#59636e}
.cancel{background:none;border:0;color:#59636e;text-decoration:underline;cursor:pointer;font:inherit;padding:0}
a{color:#1971c2}
`;

function page(title: string, body: string): string {
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Accord development sign-in</title>
<style>${STYLE}</style>
</head>
<body>
<div class="banner" role="alert">Development sign-in — not for production<span lang="zh">开发用登录，不可用于生产环境</span></div>
<main><div class="card">${body}</div></main>
</body>
</html>`;
}

function loginPage(basePath: string, uid: string, users: readonly DevUser[], currentId: string | undefined): string {
	const base = `${basePath}/interaction/${uid}`;
	const buttons = users
		.map((user) => {
			const role = roleOf(user);
			const current = user.id === currentId ? ' <span class="current">(signed in)</span>' : '';
			return `<button class="user" type="submit" name="user" value="${escapeHtml(user.id)}">
<span class="who"><b>${escapeHtml(user.name)}${current}</b><small>${escapeHtml(user.email)}</small></span>
<span class="role role-${role}">${role}</span>
</button>`;
		})
		.join('\n');
	return page(
		'Choose a user',
		`<h1>Sign in to Accord</h1>
<p class="muted">Pick a demo person. No password: this built-in identity provider exists only so a fresh install can be tried out.</p>
<form method="post" action="${escapeHtml(`${base}/login`)}" class="users">
${buttons}
</form>
<form method="post" action="${escapeHtml(`${base}/abort`)}"><button class="cancel" type="submit">Cancel sign-in</button></form>`
	);
}

function expiredPage(): string {
	return page(
		'Sign-in expired',
		'<h1>This sign-in has expired</h1><p>The sign-in request was already finished or took too long. Go back to Accord and sign in again.</p>'
	);
}

async function logoutSource(ctx: PageContext, form: string): Promise<void> {
	// `form` is oidc-provider's own hidden form (with its CSRF token), id="op.logoutForm".
	ctx.type = 'html';
	ctx.body = page(
		'Sign out',
		`<h1>Sign out of the development identity provider?</h1>
${form}
<div class="users">
<button class="user" autofocus type="submit" form="op.logoutForm" value="yes" name="logout"><span class="who"><b>Yes, sign me out</b></span></button>
<button class="user" type="submit" form="op.logoutForm"><span class="who"><b>No, stay signed in</b></span></button>
</div>`
	);
}

async function postLogoutSuccessSource(ctx: PageContext): Promise<void> {
	ctx.type = 'html';
	ctx.body = page('Signed out', '<h1>You are signed out</h1><p>You can close this tab or go back to Accord.</p>');
}
