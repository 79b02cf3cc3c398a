import { json } from '@sveltejs/kit';
import { services } from '$lib/server/services.ts';
import { actorOf, guarded } from '$lib/server/api.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = ({ locals }) => guarded(async () => json({ members: await services().admin.members(actorOf(locals)) }));
