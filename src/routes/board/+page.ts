/**
 * The pipeline board's route: only which field it groups by (`?by=stage|owner|currency`,
 * or one of the workspace's own select fields, each a pipeline: `?by=x_renewal`), kept in
 * the address so a board can be bookmarked and shared, and its segment (`?q=`, a view's
 * query: only the records matching it). Which custom fields exist is the
 * page's to check against the live definitions. The board itself is built in the browser
 * from this device's copy of the records (BoardView), so nothing is fetched here and the
 * page works offline as the list does.
 */
import type { PageLoad } from './$types';

export const load = (({ url }) => ({ by: url.searchParams.get('by'), q: url.searchParams.get('q') })) satisfies PageLoad;
