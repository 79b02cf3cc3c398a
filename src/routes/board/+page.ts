/**
 * The pipeline board's route: only which field it groups by (`?by=stage|owner|currency`,
 * kept in the address so a board can be bookmarked and shared). The board itself is built
 * in the browser from this device's copy of the records (BoardView), so nothing is
 * fetched here and the page works offline as the list does.
 */
import { readGroupBy } from '$lib/board.ts';
import type { PageLoad } from './$types';

export const load = (({ url }) => ({ groupBy: readGroupBy(url.searchParams.get('by')) })) satisfies PageLoad;
