/**
 * Versioned schema migrations, applied in order at start. A migration, once released,
 * never changes: the next change is a new entry at the end of the list.
 */
import type { Sql } from './types.ts';

export interface Migration {
	version: number;
	name: string;
	/** One or more statements; runs in one transaction with the row recording it. */
	sql: string;
}

/** Migration 17: values (in hundredths) at or beyond this size are kept only as numeric in analytics_customers (cents8 null). */
export const CENTS8_LIMIT = '4000000000000000000';

export const MIGRATIONS: readonly Migration[] = [
	{
		version: 1,
		name: 'documents, update log and record projection',
		sql: `
			CREATE TABLE workspaces (
				id text PRIMARY KEY,
				name text NOT NULL,
				created_at timestamptz NOT NULL DEFAULT now()
			);

			CREATE TABLE documents (
				id uuid PRIMARY KEY,
				workspace_id text NOT NULL REFERENCES workspaces (id),
				snapshot bytea,
				snapshot_seq bigint NOT NULL DEFAULT 0,
				last_seq bigint NOT NULL DEFAULT 0,
				created_at timestamptz NOT NULL DEFAULT now(),
				updated_at timestamptz NOT NULL DEFAULT now(),
				CHECK (snapshot_seq <= last_seq)
			);
			-- Counting a workspace's documents, and finding those changed since a point.
			CREATE INDEX documents_workspace_updated ON documents (workspace_id, updated_at);

			CREATE TABLE document_updates (
				document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
				seq bigint NOT NULL,
				update bytea NOT NULL,
				created_at timestamptz NOT NULL DEFAULT now(),
				PRIMARY KEY (document_id, seq)
			);

			CREATE TABLE records (
				id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
				workspace_id text NOT NULL,
				name text NOT NULL DEFAULT '',
				company text,
				email text,
				phone text,
				stage text,
				owner text,
				value numeric,
				currency text,
				country text,
				city text,
				tags text[] NOT NULL DEFAULT '{}',
				archived boolean NOT NULL DEFAULT false,
				created_at timestamptz NOT NULL,
				updated_at timestamptz NOT NULL
			);
			-- One per list order the UI offers; names sort case-insensitively.
			CREATE INDEX records_workspace_updated ON records (workspace_id, updated_at DESC, id);
			CREATE INDEX records_workspace_name ON records (workspace_id, lower(name), id);
			CREATE INDEX records_workspace_stage ON records (workspace_id, stage, id);
			CREATE INDEX records_workspace_owner ON records (workspace_id, owner, id);
		`
	},
	{
		version: 2,
		name: 'people, sign-in sessions, memberships, API tokens, private records',
		sql: `
			ALTER TABLE workspaces ADD COLUMN default_role text NOT NULL DEFAULT 'viewer'
				CHECK (default_role IN ('admin', 'editor', 'viewer'));

			CREATE TABLE users (
				id text PRIMARY KEY,
				issuer text NOT NULL,
				subject text NOT NULL,
				name text NOT NULL,
				email text,
				created_at timestamptz NOT NULL DEFAULT now(),
				last_sign_in_at timestamptz,
				UNIQUE (issuer, subject)
			);

			CREATE TABLE memberships (
				workspace_id text NOT NULL REFERENCES workspaces (id),
				user_id text NOT NULL REFERENCES users (id),
				role text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
				-- Who set the role by hand; null when it came from the identity provider or the default.
				assigned_by text,
				created_at timestamptz NOT NULL DEFAULT now(),
				updated_at timestamptz NOT NULL DEFAULT now(),
				PRIMARY KEY (workspace_id, user_id)
			);

			-- Only a hash of each session token is kept: a leaked table opens no sessions.
			CREATE TABLE sessions (
				token_hash text PRIMARY KEY,
				user_id text NOT NULL REFERENCES users (id),
				workspace_id text NOT NULL REFERENCES workspaces (id),
				id_token text,
				created_at timestamptz NOT NULL DEFAULT now(),
				expires_at timestamptz NOT NULL,
				revoked_at timestamptz
			);
			CREATE INDEX sessions_user ON sessions (user_id);

			-- One row per sign-in under way: state, nonce and PKCE verifier, used once.
			CREATE TABLE sign_in_attempts (
				state text PRIMARY KEY,
				nonce text NOT NULL,
				code_verifier text NOT NULL,
				return_to text NOT NULL,
				created_at timestamptz NOT NULL DEFAULT now()
			);

			CREATE TABLE api_tokens (
				id uuid PRIMARY KEY,
				workspace_id text NOT NULL REFERENCES workspaces (id),
				name text NOT NULL,
				role text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
				token_hash text NOT NULL UNIQUE,
				created_by text,
				created_at timestamptz NOT NULL DEFAULT now(),
				last_used_at timestamptz,
				revoked_at timestamptz
			);

			-- Set by the record's owner or an admin, not by document edits, so an editor
			-- cannot hide a record from others by writing to it.
			ALTER TABLE records ADD COLUMN private boolean NOT NULL DEFAULT false;
		`
	},
	{
		version: 3,
		name: 'audit log (hash-chained per workspace), staged audit entries, Yjs client id bindings',
		sql: `
			-- Who wrote with each Yjs client id of a document: items are attributed to it,
			-- and new items under an id bound to someone else are refused.
			CREATE TABLE client_bindings (
				document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
				client_id bigint NOT NULL,
				user_id text NOT NULL,
				user_name text NOT NULL,
				created_at timestamptz NOT NULL DEFAULT now(),
				PRIMARY KEY (document_id, client_id)
			);

			-- Entries written with their update, in its transaction, still open for coalescing
			-- (the same person changing the same place again shortly after). Sealed into
			-- audit_log once the window closes.
			CREATE TABLE audit_pending (
				id bigserial PRIMARY KEY,
				workspace_id text NOT NULL,
				record_id uuid,
				first_at timestamptz NOT NULL,
				at timestamptz NOT NULL,
				changes integer NOT NULL DEFAULT 1,
				actor_id text NOT NULL,
				actor_name text NOT NULL,
				source text NOT NULL,
				relayed_by jsonb,
				path text NOT NULL,
				op text NOT NULL,
				before jsonb,
				after jsonb,
				conflict jsonb,
				-- Entries with the same key may merge; null: never.
				coalesce_key text
			);
			CREATE INDEX audit_pending_key ON audit_pending (coalesce_key, id) WHERE coalesce_key IS NOT NULL;
			CREATE INDEX audit_pending_record ON audit_pending (record_id, at);
			CREATE INDEX audit_pending_at ON audit_pending (at);

			-- Append-only: each entry carries the SHA-256 of the previous entry's hash and its own content.
			CREATE TABLE audit_log (
				id bigserial PRIMARY KEY,
				workspace_id text NOT NULL,
				seq bigint NOT NULL,
				record_id uuid,
				at timestamptz NOT NULL,
				first_at timestamptz NOT NULL,
				changes integer NOT NULL,
				actor_id text NOT NULL,
				actor_name text NOT NULL,
				source text NOT NULL,
				relayed_by jsonb,
				path text NOT NULL,
				op text NOT NULL,
				before jsonb,
				after jsonb,
				conflict jsonb,
				staged_id bigint,
				prev_hash text NOT NULL,
				hash text NOT NULL,
				UNIQUE (workspace_id, seq)
			);
			CREATE INDEX audit_log_record ON audit_log (record_id, at DESC);
			CREATE INDEX audit_log_workspace_at ON audit_log (workspace_id, at DESC);
			CREATE INDEX audit_log_actor ON audit_log (workspace_id, actor_id, at DESC);
			CREATE INDEX audit_log_staged ON audit_log (staged_id);

			-- The end of each workspace's chain, locked by whoever appends to it.
			CREATE TABLE audit_heads (
				workspace_id text PRIMARY KEY,
				seq bigint NOT NULL,
				hash text NOT NULL
			);

			CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				RAISE EXCEPTION 'audit_log is append-only';
			END
			$$;
			CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
				FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
		`
	},
	{
		version: 4,
		name: 'audit entries by place (record, path), for folding a change into the open entry',
		sql: `
			-- Staging asks, per group commit, whether anyone else changed a place since its open
			-- entry; by record alone that read every entry the record ever had.
			CREATE INDEX audit_pending_place ON audit_pending (record_id, path, id);
			CREATE INDEX audit_log_place ON audit_log (record_id, path, staged_id);
		`
	},
	{
		version: 5,
		name: 'staged audit entries updated in place when a change folds into them',
		sql: `
			-- Folding a change rewrites the open entry's \`at\`: with \`at\` in no index and room
			-- left on each page, Postgres updates the row in place (a HOT update) instead of
			-- adding a new entry to every index of the table. By record, the place index serves;
			-- the table holds minutes of entries at most, so sealing needs no index by time.
			DROP INDEX audit_pending_record;
			DROP INDEX audit_pending_at;
			ALTER TABLE audit_pending SET (fillfactor = 50);
		`
	},
	{
		version: 6,
		name: 'when private records were hidden, and from whom, for catch-up',
		sql: `
			-- A catch-up lists under \`removed\` the records the asker could see since their
			-- position and no longer can. Telling that from "private to them all along" needs
			-- the moment a record was hidden and from whom; a record's last change time does
			-- not say (listing every hidden record that changed told everyone it existed).
			-- One row per hiding rather than a column on records: a private record given from
			-- one owner to the next to the next is hidden from each of them in turn, and a
			-- column would keep only the last. Hidings are rare (a record made private, or a
			-- private one given away), so the table stays small.
			CREATE TABLE record_hidings (
				record_id uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
				workspace_id text NOT NULL,
				hidden_at timestamptz NOT NULL,
				-- Null: everyone but the owner and admins (a shared record made private); else the
				-- former owner of a private record given to someone else.
				hidden_from text
			);
			CREATE INDEX record_hidings_workspace_at ON record_hidings (workspace_id, hidden_at);

			-- Recorded by the database, whichever path changes \`private\` or \`owner\` (the API,
			-- the projection of an edited document, SQL by hand). A record created private
			-- (an INSERT) was never visible to others: no hiding.
			CREATE FUNCTION record_hidden() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				INSERT INTO record_hidings (record_id, workspace_id, hidden_at, hidden_from)
				VALUES (NEW.id, NEW.workspace_id, now(), CASE WHEN OLD.private THEN OLD.owner END);
				RETURN NULL;
			END
			$$;
			-- WHEN is checked without calling the function: the projection's frequent upserts
			-- of records that stay as they were cost next to nothing.
			CREATE TRIGGER record_hidden AFTER UPDATE OF private, owner ON records
				FOR EACH ROW
				WHEN (NEW.private AND (NOT OLD.private OR (OLD.owner IS NOT NULL AND OLD.owner IS DISTINCT FROM NEW.owner)))
				EXECUTE FUNCTION record_hidden();

			-- Records already private: hidden when the audit log says they were made private,
			-- else (log off, or older than it) at their last change, which is no earlier.
			INSERT INTO record_hidings (record_id, workspace_id, hidden_at, hidden_from)
			SELECT r.id, r.workspace_id,
			       COALESCE((SELECT max(e.at) FROM (
			                   SELECT at FROM audit_log WHERE record_id = r.id AND path = 'private' AND after = 'true'::jsonb
			                   UNION ALL
			                   SELECT at FROM audit_pending WHERE record_id = r.id AND path = 'private' AND after = 'true'::jsonb
			                 ) AS e), r.updated_at),
			       NULL
			  FROM records AS r WHERE r.private;
		`
	},
	{
		version: 7,
		name: 'an identity for this database, named by audit anchors',
		sql: `
			-- Audit anchors (checkpoints of each workspace's chain kept outside the database,
			-- server/audit/anchor.ts) name the database they were taken from, so that anchors
			-- written by other databases to the same file (a test or staging server) are told
			-- apart from this one's. Made once, never changed; a backup restored carries it,
			-- so its anchors still apply (and show what the backup lacks).
			CREATE TABLE audit_identity (
				id text PRIMARY KEY,
				created_at timestamptz NOT NULL DEFAULT now()
			);
			INSERT INTO audit_identity (id) VALUES (gen_random_uuid()::text);
			CREATE FUNCTION audit_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				RAISE EXCEPTION 'audit_identity never changes';
			END
			$$;
			CREATE TRIGGER audit_identity_fixed BEFORE INSERT OR UPDATE OR DELETE ON audit_identity
				FOR EACH ROW EXECUTE FUNCTION audit_identity_fixed();
		`
	},
	{
		version: 8,
		name: 'search tokens and their prefixes on the record projection',
		sql: `
			-- What \`GET /api/records?q=\` searches: each record's tokens, made in JavaScript by
			-- the tokenizer the browser uses too (src/lib/search), so both find the same
			-- records; Postgres's own text search cannot split Chinese or make pinyin, and
			-- would tokenize differently from the browser. Whole terms are \`search_tokens @>\`;
			-- prefixes (\`acme*\`, and the word being typed) are \`search_prefixes @>\` over the
			-- first characters of each token, both served by GIN indexes. Written with the
			-- row by the projection; rows already here get them when next projected (and at
			-- start: see backfillSearchTokens in sql-store.ts).
			ALTER TABLE records ADD COLUMN search_tokens text[] NOT NULL DEFAULT '{}';
			ALTER TABLE records ADD COLUMN search_prefixes text[] NOT NULL DEFAULT '{}';
			-- Which tokenizer made them (0: none yet): a later change to it re-indexes by this.
			ALTER TABLE records ADD COLUMN search_version smallint NOT NULL DEFAULT 0;
			CREATE INDEX records_search_tokens ON records USING gin (search_tokens);
			CREATE INDEX records_search_prefixes ON records USING gin (search_prefixes);
		`
	},
	{
		version: 9,
		name: 'duplicate blocking keys on the record projection',
		sql: `
			-- Each record's blocking keys (src/lib/model/duplicates.ts: its email, E.164 phone,
			-- registrable website domain, folded name and company), written with the row by
			-- the projection, in its statement, so they are never out of step with it. Finding
			-- the candidates of one record is \`duplicate_keys && $keys\` (GIN); the workspace
			-- scan groups rows by key. Neither compares all pairs. A column beside the search
			-- tokens rather than a table of its own: the row is rewritten on every change
			-- anyway, and a table would add a delete and an insert to each. Rows already here
			-- get their keys at start (backfillDuplicateKeys in duplicate-store.ts).
			ALTER TABLE records ADD COLUMN duplicate_keys text[] NOT NULL DEFAULT '{}';
			-- Which rules made them (0: none yet): a later change to the rules re-keys by this.
			ALTER TABLE records ADD COLUMN duplicate_version smallint NOT NULL DEFAULT 0;
			CREATE INDEX records_duplicate_keys ON records USING gin (duplicate_keys);
		`
	},
	{
		version: 10,
		name: 'record merges and what each record was before, for undo',
		sql: `
			-- One row per merge (server/merge.ts): the records it named, and each one's plain
			-- JSON (GET /api/records/:id without \`private\`) just before and just after it, so
			-- an undo writes every record back exactly as it was and can tell whether anyone
			-- changed one since. \`after\` is null only while the merge is being applied.
			CREATE TABLE record_merges (
				id uuid PRIMARY KEY,
				workspace_id text NOT NULL REFERENCES workspaces (id),
				survivor_id uuid NOT NULL,
				merged_ids uuid[] NOT NULL,
				-- JSON as text, not jsonb: jsonb reorders keys, and "exactly as it was" includes their order.
				before text NOT NULL,
				after text,
				merged_by text NOT NULL,
				merged_by_name text NOT NULL,
				merged_at timestamptz NOT NULL DEFAULT now(),
				undone_by text,
				undone_at timestamptz
			);
			CREATE INDEX record_merges_workspace_at ON record_merges (workspace_id, merged_at);
		`
	},
	{
		version: 11,
		name: 'what the dashboard aggregates beyond the list row: expected close and activity times',
		sql: `
			-- The dashboard's SQL (server/analytics-store.ts) needs each record's expected close
			-- (followUpAt) and its activities' times, which the list row does not carry. Kept by
			-- the analytics store itself, from the documents, for those whose last_seq moved
			-- since it last read them (seen_seq), so the projection's write stays as it is.
			CREATE TABLE analytics_records (
				record_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
				workspace_id text NOT NULL,
				follow_up_at date,
				seen_seq bigint NOT NULL
			);
			CREATE TABLE analytics_activities (
				record_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
				workspace_id text NOT NULL,
				at timestamptz NOT NULL
			);
			CREATE INDEX analytics_activities_record ON analytics_activities (record_id, at);
			CREATE INDEX analytics_activities_workspace_at ON analytics_activities (workspace_id, at);
			-- Stage changes are read from the audit log by place; this serves "every stage change of a workspace".
			CREATE INDEX audit_log_workspace_path ON audit_log (workspace_id, path);
		`
	},
	{
		version: 12,
		name: 'data-subject erasure: erasable audit values under a salted hash, and the ids erased',
		sql: `
			-- An entry sealed from now on hashes its values (before, after, conflict) apart from
			-- the rest: values_hash = sha256(values_salt + their canonical JSON), and the chain's
			-- hash covers values_hash instead of the values (server/audit/hash.ts, version 2).
			-- Erasing a customer (server/erase.ts) replaces the values by a tombstone and drops
			-- the salt: the chain still verifies through values_hash, and without the salt that
			-- hash cannot be used to guess a short value such as a phone number. Entries sealed
			-- before this migration have neither column (version 1).
			ALTER TABLE audit_log ADD COLUMN values_salt text;
			ALTER TABLE audit_log ADD COLUMN values_hash text;
			-- When the entry's values were erased; null while they are there.
			ALTER TABLE audit_log ADD COLUMN erased_at timestamptz;

			-- Still append-only, with one exception: an erasure, once per entry, may replace the
			-- values and drop the salt; everything the chain's hash covers stays as it was.
			CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF TG_OP = 'UPDATE' AND OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL AND NEW.values_salt IS NULL
					AND (NEW.id, NEW.workspace_id, NEW.seq, NEW.record_id, NEW.at, NEW.first_at, NEW.changes, NEW.actor_id, NEW.actor_name,
					     NEW.source, NEW.path, NEW.op, NEW.staged_id, NEW.prev_hash, NEW.hash, NEW.values_hash)
					    IS NOT DISTINCT FROM
					    (OLD.id, OLD.workspace_id, OLD.seq, OLD.record_id, OLD.at, OLD.first_at, OLD.changes, OLD.actor_id, OLD.actor_name,
					     OLD.source, OLD.path, OLD.op, OLD.staged_id, OLD.prev_hash, OLD.hash, OLD.values_hash)
					AND NEW.relayed_by IS NOT DISTINCT FROM OLD.relayed_by
				THEN
					RETURN NEW;
				END IF;
				RAISE EXCEPTION 'audit_log is append-only';
			END
			$$;

			-- Records erased on a data-subject request: only the id, when and by whom. Catch-up
			-- tells every browser to drop these from its local copy, and an erased id is never
			-- created again (an offline copy syncing back would otherwise bring the data back).
			CREATE TABLE erased_records (
				record_id uuid PRIMARY KEY,
				workspace_id text NOT NULL,
				erased_at timestamptz NOT NULL DEFAULT now(),
				erased_by text NOT NULL
			);
			CREATE INDEX erased_records_workspace_at ON erased_records (workspace_id, erased_at);
			-- Whatever path creates a document (the API, an offline copy's create frame, an
			-- import), an erased id is refused by the database itself.
			CREATE FUNCTION documents_not_erased() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF EXISTS (SELECT 1 FROM erased_records WHERE record_id = NEW.id) THEN
					RAISE EXCEPTION 'record % was erased on a data-subject request and cannot be created again', NEW.id;
				END IF;
				RETURN NEW;
			END
			$$;
			CREATE TRIGGER documents_not_erased BEFORE INSERT ON documents
				FOR EACH ROW EXECUTE FUNCTION documents_not_erased();
		`
	},
	{
		version: 13,
		name: 'the dashboard from per-record summaries and quarter-hour buckets, kept as records change',
		sql: `
			-- At 100,000 records and 1,000,000 activities the dashboard's SQL over the raw rows
			-- took seconds (bench/analytics.ts). It now reads, per record, one summary row (what
			-- the charts need from its document and its stage history: activity times as a sorted
			-- array, won/lost times, the furthest funnel stage reached) and, per quarter hour,
			-- counts of activities and of wins and losses (a quarter hour is the finest step of
			-- any time zone's offset, so weekday, hour and month can be taken in any zone). The
			-- analytics store writes the summaries (server/analytics-store.ts); the triggers below
			-- keep the buckets equal to the sum of what the current summaries contribute, in the
			-- same transaction, whoever writes or deletes a summary.
			DROP TABLE analytics_activities;
			DROP TABLE analytics_records;
			CREATE TABLE analytics_summaries (
				record_id uuid PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
				workspace_id text NOT NULL,
				seen_seq bigint NOT NULL,
				name text NOT NULL DEFAULT '',
				stage text,
				owner text,
				value numeric,
				currency text,
				created_at timestamptz,
				follow_up_at date,
				-- Who may see what it contributes: '' everyone, 'p:' || owner a private record
				-- (its owner and admins), null nobody (archived, no list row yet, not a record).
				scope text,
				-- The list row's private flag as last read (null: no list row), to notice it change.
				private boolean,
				-- The furthest funnel stage (index in FUNNEL_STAGES) its stage history reached; -1 none.
				furthest smallint NOT NULL DEFAULT -1,
				activity_ms bigint[] NOT NULL DEFAULT '{}',
				won_ms bigint[] NOT NULL DEFAULT '{}',
				lost_ms bigint[] NOT NULL DEFAULT '{}'
			);
			CREATE INDEX analytics_summaries_workspace ON analytics_summaries (workspace_id, created_at);
			CREATE TABLE analytics_buckets (
				workspace_id text NOT NULL,
				kind text NOT NULL,
				scope text NOT NULL,
				quarter integer NOT NULL,
				n integer NOT NULL,
				PRIMARY KEY (workspace_id, kind, scope, quarter)
			);
			-- Each completed stay in a stage (left by a stage change), for the median days in stage.
			CREATE TABLE analytics_stays (
				record_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
				workspace_id text NOT NULL,
				scope text NOT NULL,
				stage text NOT NULL,
				left_at timestamptz NOT NULL,
				days float8 NOT NULL
			);
			CREATE INDEX analytics_stays_workspace ON analytics_stays (workspace_id, stage, left_at);
			CREATE INDEX analytics_stays_record ON analytics_stays (record_id);

			-- Adds what the statement's new summaries contribute and takes away what the old ones
			-- did, in key order (two writers lock bucket rows in one order). A transition table
			-- exists only for the events that have it, hence one statement per event.
			CREATE FUNCTION analytics_buckets_follow() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF TG_OP = 'INSERT' THEN
				INSERT INTO analytics_buckets AS b (workspace_id, kind, scope, quarter, n)
				SELECT d.workspace_id, d.kind, d.scope, d.quarter, sum(d.n)::int FROM (
					SELECT r.workspace_id, x.kind, r.scope, floor(x.ms / 900000.0)::int AS quarter, 1 AS n
					  FROM new_rows r CROSS JOIN LATERAL (
					    SELECT 'activity' AS kind, ms FROM unnest(r.activity_ms) AS ms
					    UNION ALL SELECT 'won', ms FROM unnest(r.won_ms) AS ms
					    UNION ALL SELECT 'lost', ms FROM unnest(r.lost_ms) AS ms) AS x
					 WHERE r.scope IS NOT NULL
				) AS d
				GROUP BY 1, 2, 3, 4 HAVING sum(d.n) <> 0 ORDER BY 1, 2, 3, 4
				ON CONFLICT (workspace_id, kind, scope, quarter) DO UPDATE SET n = b.n + EXCLUDED.n;
				ELSIF TG_OP = 'DELETE' THEN
				INSERT INTO analytics_buckets AS b (workspace_id, kind, scope, quarter, n)
				SELECT d.workspace_id, d.kind, d.scope, d.quarter, sum(d.n)::int FROM (
					SELECT r.workspace_id, x.kind, r.scope, floor(x.ms / 900000.0)::int AS quarter, -1 AS n
					  FROM old_rows r CROSS JOIN LATERAL (
					    SELECT 'activity' AS kind, ms FROM unnest(r.activity_ms) AS ms
					    UNION ALL SELECT 'won', ms FROM unnest(r.won_ms) AS ms
					    UNION ALL SELECT 'lost', ms FROM unnest(r.lost_ms) AS ms) AS x
					 WHERE r.scope IS NOT NULL
				) AS d
				GROUP BY 1, 2, 3, 4 HAVING sum(d.n) <> 0 ORDER BY 1, 2, 3, 4
				ON CONFLICT (workspace_id, kind, scope, quarter) DO UPDATE SET n = b.n + EXCLUDED.n;
				ELSE
				INSERT INTO analytics_buckets AS b (workspace_id, kind, scope, quarter, n)
				SELECT d.workspace_id, d.kind, d.scope, d.quarter, sum(d.n)::int FROM (
					SELECT r.workspace_id, x.kind, r.scope, floor(x.ms / 900000.0)::int AS quarter, 1 AS n
					  FROM new_rows r CROSS JOIN LATERAL (
					    SELECT 'activity' AS kind, ms FROM unnest(r.activity_ms) AS ms
					    UNION ALL SELECT 'won', ms FROM unnest(r.won_ms) AS ms
					    UNION ALL SELECT 'lost', ms FROM unnest(r.lost_ms) AS ms) AS x
					 WHERE r.scope IS NOT NULL
					UNION ALL
					SELECT r.workspace_id, x.kind, r.scope, floor(x.ms / 900000.0)::int AS quarter, -1 AS n
					  FROM old_rows r CROSS JOIN LATERAL (
					    SELECT 'activity' AS kind, ms FROM unnest(r.activity_ms) AS ms
					    UNION ALL SELECT 'won', ms FROM unnest(r.won_ms) AS ms
					    UNION ALL SELECT 'lost', ms FROM unnest(r.lost_ms) AS ms) AS x
					 WHERE r.scope IS NOT NULL
				) AS d
				GROUP BY 1, 2, 3, 4 HAVING sum(d.n) <> 0 ORDER BY 1, 2, 3, 4
				ON CONFLICT (workspace_id, kind, scope, quarter) DO UPDATE SET n = b.n + EXCLUDED.n;
				END IF;
				RETURN NULL;
			END
			$$;
			CREATE TRIGGER analytics_summaries_inserted AFTER INSERT ON analytics_summaries
				REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_buckets_follow();
			CREATE TRIGGER analytics_summaries_updated AFTER UPDATE ON analytics_summaries
				REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_buckets_follow();
			CREATE TRIGGER analytics_summaries_deleted AFTER DELETE ON analytics_summaries
				REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_buckets_follow();
		`
	},
	{
		version: 14,
		name: 'every field of a record on its list row, for filters and sorts on any column',
		sql: `
			-- The list filters and sorts on any field (server/store/list-columns.ts): each
			-- record's field values as JSON (custom fields and dates included), each text
			-- value's collation key (Chinese by pinyin as Intl.Collator('zh') orders it, made
			-- in JavaScript because PGlite has no ICU; compared with COLLATE "C"), and its last
			-- activity (idle>30). Written with the row by the projection; rows already here get
			-- them at start (backfillListColumns), as the search tokens do.
			ALTER TABLE records ADD COLUMN list_fields jsonb NOT NULL DEFAULT '{}';
			ALTER TABLE records ADD COLUMN list_sort jsonb NOT NULL DEFAULT '{}';
			ALTER TABLE records ADD COLUMN last_activity_at timestamptz;
			ALTER TABLE records ADD COLUMN list_version smallint NOT NULL DEFAULT 0;
			-- The sorts a list opens with most: names and companies (the updated_at and value orders have theirs).
			CREATE INDEX records_workspace_name_key ON records (workspace_id, ((list_sort ->> 'name')) COLLATE "C", id);
			CREATE INDEX records_workspace_company_key ON records (workspace_id, ((list_sort ->> 'company')) COLLATE "C", id);
			CREATE INDEX records_workspace_last_activity ON records (workspace_id, last_activity_at);
			CREATE INDEX records_workspace_created ON records (workspace_id, created_at);
			-- Saved views (server/views.ts): a person's private ones. Shared views live in the
			-- workspace's views document, which everyone in it syncs live.
			CREATE TABLE private_views (
				id uuid PRIMARY KEY,
				workspace_id text NOT NULL REFERENCES workspaces (id),
				owner_id text NOT NULL,
				view jsonb NOT NULL,
				updated_at timestamptz NOT NULL DEFAULT now()
			);
			CREATE INDEX private_views_owner ON private_views (workspace_id, owner_id);
		`
	},
	{
		version: 15,
		name: 'import jobs: their progress, and every record each created or changed, for undo',
		sql: `
			-- One row per import run as a job (server/import/jobs.ts): its state and progress,
			-- read by every instance (the progress bar; one running import per workspace).
			CREATE TABLE import_jobs (
				id uuid PRIMARY KEY,
				workspace_id text NOT NULL REFERENCES workspaces (id),
				status text NOT NULL CHECK (status IN ('running', 'done', 'failed', 'cancelled', 'undone')),
				file_name text NOT NULL,
				policy text NOT NULL,
				started_by text NOT NULL,
				started_by_name text NOT NULL,
				started_at timestamptz NOT NULL DEFAULT now(),
				finished_at timestamptz,
				progress text NOT NULL,
				report text,
				undone_by text,
				undone_by_name text,
				undone_at timestamptz,
				-- Asked from any instance; the one running the job reads it with each progress write.
				cancel_requested boolean NOT NULL DEFAULT false
			);
			CREATE INDEX import_jobs_workspace_started ON import_jobs (workspace_id, started_at DESC);
			CREATE UNIQUE INDEX import_jobs_one_running ON import_jobs (workspace_id) WHERE status = 'running';
			-- What a job did to each record: created it, changed it (\`before\`: the record's JSON
			-- just before, as text so its key order stays), or made a merge (record_id: the merge's id).
			CREATE TABLE import_job_records (
				job_id uuid NOT NULL REFERENCES import_jobs (id) ON DELETE CASCADE,
				record_id uuid NOT NULL,
				kind text NOT NULL CHECK (kind IN ('created', 'updated', 'merge')),
				before text,
				PRIMARY KEY (job_id, record_id)
			);
		`
	},
	{
		version: 16,
		name: 'the dashboard per chart: counts by creation day and quarter hour, forecast by close date, stays by day and length, values in order',
		sql: `
			-- At 100,000 records the dashboard still read every summary (pipeline, funnel, weeks,
			-- forecast; a sort of all values for the monetary score) and every stay in the range
			-- (median days in stage) on each answer (bench/analytics.ts). Kept here instead, by
			-- triggers in the writer's transaction as the buckets are (migration 13), so a chart
			-- reads a few rows per day of its range and only the records at its ends:
			-- analytics_counts, what each summary contributes, per kind:
			--   'stage' (key: stage), 'owner' (key: owner, open deals only), 'reached' (key: the
			--   furthest funnel index) per UTC day of creation (at: days since 1970), per currency;
			--   'quarter' per quarter hour of creation (at: quarter hours since 1970), for weeks in
			--   any time zone; 'forecast' per expected close date (at: days since 1970) and currency,
			--   open deals with a value, with the stage-weighted value rounded per deal.
			ALTER TABLE analytics_summaries ADD COLUMN cents numeric GENERATED ALWAYS AS (round(value * 100)) STORED;
			-- The values of a currency in order: the monetary score's quintile boundaries and the top list.
			CREATE INDEX analytics_summaries_value ON analytics_summaries (workspace_id, currency, cents) INCLUDE (scope)
				WHERE scope IS NOT NULL AND cents IS NOT NULL;
			CREATE TABLE analytics_counts (
				workspace_id text NOT NULL,
				kind text NOT NULL,
				scope text NOT NULL,
				at bigint NOT NULL,
				key text,
				currency text,
				n integer NOT NULL,
				valued integer NOT NULL,
				cents numeric NOT NULL,
				weighted numeric NOT NULL,
				UNIQUE NULLS NOT DISTINCT (workspace_id, kind, scope, at, key, currency)
			);
			-- Stays per stage, length bucket (width_bucket over STAY_EDGES, in days: zero, then a day
			-- wide up to a month, five days up to a year, thirty beyond) and the UTC month ('m', months since
			-- 1970) and day ('d', days since 1970) they ended, for the median: the bucket holding
			-- the middle is found from these counts (whole months, then whole days at the range's
			-- ends), then only that bucket's stays are read, in order (analytics_stays_length).
			CREATE TABLE analytics_stay_counts (
				workspace_id text NOT NULL,
				stage text NOT NULL,
				unit "char" NOT NULL,
				at bigint NOT NULL,
				bucket smallint NOT NULL,
				scope text NOT NULL,
				n integer NOT NULL,
				PRIMARY KEY (workspace_id, stage, unit, at, bucket, scope)
			);
			CREATE INDEX analytics_stays_length ON analytics_stays (workspace_id, stage, days) INCLUDE (left_at, scope);

			INSERT INTO analytics_counts (workspace_id, kind, scope, at, key, currency, n, valued, cents, weighted)
			SELECT d.workspace_id, d.kind, d.scope, d.at, d.key, d.currency, sum(d.n)::int, sum(d.valued)::int, sum(d.cents), sum(d.weighted)
			  FROM (${analyticsCountRows('analytics_summaries', 1)}) AS d
			 GROUP BY 1, 2, 3, 4, 5, 6;
			INSERT INTO analytics_stay_counts (workspace_id, stage, unit, at, bucket, scope, n)
			SELECT d.workspace_id, d.stage, d.unit, d.at, d.bucket, d.scope, sum(d.n)::int FROM (${analyticsStayRows('analytics_stays', 1)}) AS d
			 GROUP BY 1, 2, 3, 4, 5, 6;

			CREATE FUNCTION analytics_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF TG_OP = 'INSERT' THEN
				${analyticsCountsUpsert(analyticsCountRows('new_rows', 1))}
				ELSIF TG_OP = 'DELETE' THEN
				${analyticsCountsUpsert(analyticsCountRows('old_rows', -1))}
				ELSE
				${analyticsCountsUpsert(`${analyticsCountRows('new_rows', 1)} UNION ALL ${analyticsCountRows('old_rows', -1)}`)}
				END IF;
				RETURN NULL;
			END
			$$;
			CREATE TRIGGER analytics_counts_inserted AFTER INSERT ON analytics_summaries
				REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_counts_follow();
			CREATE TRIGGER analytics_counts_updated AFTER UPDATE ON analytics_summaries
				REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_counts_follow();
			CREATE TRIGGER analytics_counts_deleted AFTER DELETE ON analytics_summaries
				REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_counts_follow();

			CREATE FUNCTION analytics_stay_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF TG_OP = 'INSERT' THEN
				${analyticsStayCountsUpsert(analyticsStayRows('new_rows', 1))}
				ELSIF TG_OP = 'DELETE' THEN
				${analyticsStayCountsUpsert(analyticsStayRows('old_rows', -1))}
				ELSE
				${analyticsStayCountsUpsert(`${analyticsStayRows('new_rows', 1)} UNION ALL ${analyticsStayRows('old_rows', -1)}`)}
				END IF;
				RETURN NULL;
			END
			$$;
			CREATE TRIGGER analytics_stay_counts_inserted AFTER INSERT ON analytics_stays
				REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_stay_counts_follow();
			CREATE TRIGGER analytics_stay_counts_updated AFTER UPDATE ON analytics_stays
				REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_stay_counts_follow();
			CREATE TRIGGER analytics_stay_counts_deleted AFTER DELETE ON analytics_stays
				REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_stay_counts_follow();
		`
	},
	{
		version: 17,
		name: 'customer value from one narrow row per visible record (last and first activity, the 5th, 10th and 20th from either end, value) and values counted per bucket',
		sql: `
			-- Customer value (R, F and M scores, the churn count and list) was the one chart still
			-- reading every summary's activity array on each answer (bench/analytics.ts: about a
			-- second on Postgres at 100,000 records, more on PGlite). R needs the last activity up
			-- to now, F the activities in the range, counted only against 1, 5, 10 and 20, and
			-- churn the last activity or the creation. So, per visible summary, one narrow row
			-- of plain columns, kept by a trigger as the counts are (migration 16):
			--   last_ms, first_ms: the latest and earliest activity (null: none);
			--   since_ms: last_ms, or the creation when there is none (idle days count from it);
			--   l5, l10, l20: the 5th, 10th and 20th latest activity; e5, e10, e20: the 5th, 10th and
			--   20th earliest (a record with fewer has -2^63 and 2^63-1 there, never in a range).
			-- When every activity is before the range's end, the activities in the range are
			-- at least k exactly when the k-th latest is at or after its start; when every one
			-- is at or after its start, when the k-th earliest is before its end. When none is
			-- after now, the last activity up to now is last_ms. A record for which neither
			-- holds (activities on both sides of the range, or after now) is read from its
			-- summary's array as before (server/analytics-store.ts); the index on since_ms
			-- finds those after now and gives the churn list in idle order.
			-- The value as whole hundredths (cents8, bigint: compared without numeric arithmetic;
			-- null beyond 4e18, where cents is compared instead) and its bucket (vbucket: 16 per
			-- factor e of the amount, signed, 0 for zero; never decreasing as the value grows).
			-- analytics_value_counts counts the values per currency, bucket and scope, so the
			-- monetary score's quintile boundaries are found from a few hundred counts and one
			-- bucket's values in order (analytics_customers_value) instead of every value.
			CREATE TABLE analytics_customers (
				record_id uuid PRIMARY KEY,
				l5 bigint NOT NULL,
				l10 bigint NOT NULL,
				l20 bigint NOT NULL,
				e5 bigint NOT NULL,
				e10 bigint NOT NULL,
				e20 bigint NOT NULL,
				lost boolean NOT NULL,
				since_ms bigint,
				last_ms bigint,
				first_ms bigint,
				cents8 bigint,
				vbucket integer,
				workspace_id text NOT NULL,
				scope text NOT NULL,
				currency text,
				cents numeric
			);
			CREATE INDEX analytics_customers_since ON analytics_customers (workspace_id, since_ms);
			CREATE INDEX analytics_customers_value ON analytics_customers (workspace_id, currency, vbucket, cents) INCLUDE (scope) WHERE cents IS NOT NULL;
			CREATE TABLE analytics_value_counts (
				workspace_id text NOT NULL,
				currency text,
				vbucket integer NOT NULL,
				scope text NOT NULL,
				n integer NOT NULL,
				UNIQUE NULLS NOT DISTINCT (workspace_id, currency, vbucket, scope)
			);
			INSERT INTO analytics_customers SELECT ${analyticsCustomerColumns('analytics_summaries')} ORDER BY 1;
			INSERT INTO analytics_value_counts (workspace_id, currency, vbucket, scope, n)
			SELECT workspace_id, currency, vbucket, scope, count(*) FROM analytics_customers WHERE cents IS NOT NULL GROUP BY 1, 2, 3, 4;

			-- The narrow rows of the statement's old summaries go, its new ones come; the value
			-- counts move by the difference, in key order (two writers lock rows in one order).
			CREATE FUNCTION analytics_customers_follow() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF TG_OP <> 'INSERT' THEN
				${analyticsValueCountsUpsert(`SELECT c.workspace_id, c.currency, c.vbucket, c.scope, -1 AS n FROM analytics_customers c JOIN old_rows o ON o.record_id = c.record_id WHERE c.cents IS NOT NULL`)}
				DELETE FROM analytics_customers c USING old_rows o WHERE c.record_id = o.record_id;
				END IF;
				IF TG_OP <> 'DELETE' THEN
				INSERT INTO analytics_customers SELECT ${analyticsCustomerColumns('new_rows')} ORDER BY 1;
				${analyticsValueCountsUpsert(`SELECT c.workspace_id, c.currency, c.vbucket, c.scope, 1 AS n FROM analytics_customers c JOIN new_rows r ON r.record_id = c.record_id WHERE c.cents IS NOT NULL`)}
				END IF;
				RETURN NULL;
			END
			$$;
			CREATE TRIGGER analytics_customers_inserted AFTER INSERT ON analytics_summaries
				REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_customers_follow();
			CREATE TRIGGER analytics_customers_updated AFTER UPDATE ON analytics_summaries
				REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_customers_follow();
			CREATE TRIGGER analytics_customers_deleted AFTER DELETE ON analytics_summaries
				REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_customers_follow();
		`
	},
	{
		version: 18,
		name: 'updates stored once whichever instance stores them: each origin instance\'s mark, and the updates others took over',
		sql: `
			-- An instance publishes an update to the others before its commit stores it; one that
			-- received it stores it itself when the origin does not confirm it in time (the origin
			-- died, or its commit stalls), with the audit entries the message carried. Each update
			-- is numbered per origin instance (a uuid per process), and the origin stores its own
			-- in that order, so one row per origin says what it stored: every update numbered up
			-- to through is stored, by the origin or by a taker. Storing is idempotent:
			--   - a taker locks the origin's row, skips what is at or below through, and claims the
			--     rest in update_takeovers (ON CONFLICT DO NOTHING: two takers store it once);
			--     it sets taken_over;
			--   - the origin, storing its own, moves through (locking its row first, so a taker's
			--     claim is committed or not yet begun) and, only when taken_over says some were
			--     taken, skips those in update_takeovers.
			-- Rows are not pruned: one per instance start, and one per update taken over (rare).
			CREATE TABLE update_origins (
				origin uuid PRIMARY KEY,
				through bigint NOT NULL DEFAULT 0,
				taken_over boolean NOT NULL DEFAULT false,
				updated_at timestamptz NOT NULL DEFAULT now()
			);
			CREATE TABLE update_takeovers (
				origin uuid NOT NULL,
				id bigint NOT NULL,
				stored_at timestamptz NOT NULL DEFAULT now(),
				PRIMARY KEY (origin, id)
			);
		`
	},
	{
		version: 19,
		name: 'conflicts found without reading the rest of the log: the board shows those at its grouping field',
		sql: `
			-- A board asks for the workspace's recent conflicts at one field (two people moved
			-- one card at once). Conflicts are a sliver of the log, so a partial index keeps
			-- that from scanning every entry of the period. Not on audit_pending: its entries
			-- are few (sealed into audit_log within seconds), and folding a change into an open
			-- entry updates its \`at\` in place, which stays a HOT update only while no index
			-- names \`at\` (audit-chain.test.ts checks that).
			CREATE INDEX audit_log_conflicts ON audit_log (workspace_id, path, at DESC) WHERE op = 'conflict';
		`
	}
];

/**
 * Migration 16's contribution of summary rows (a table or a trigger's transition table) to
 * analytics_counts, each measure times `sign` (1 added, -1 taken away). Only visible rows
 * (scope not null) count, as in the buckets. Written once here because the backfill and the
 * three trigger branches must agree; a later change is a new migration, never an edit.
 */
function analyticsCountRows(rows: string, sign: 1 | -1): string {
	const day = `floor(EXTRACT(EPOCH FROM r.created_at) / 86400)::bigint`;
	const open = `r.stage IN ('lead', 'qualified', 'proposal', 'negotiation')`;
	return `SELECT r.workspace_id, x.kind, r.scope, x.at, x.key, x.currency, ${sign} AS n, ${sign} * x.valued AS valued, ${sign} * x.cents AS cents, ${sign} * x.weighted AS weighted
	  FROM ${rows} r CROSS JOIN LATERAL (
	    SELECT 'stage' AS kind, ${day} AS at, r.stage AS key, r.currency, (r.cents IS NOT NULL)::int AS valued, COALESCE(r.cents, 0) AS cents, 0::numeric AS weighted
	     WHERE r.created_at IS NOT NULL
	    UNION ALL
	    SELECT 'owner', ${day}, r.owner, r.currency, (r.cents IS NOT NULL)::int, COALESCE(r.cents, 0), 0 WHERE r.created_at IS NOT NULL AND ${open}
	    UNION ALL
	    SELECT 'reached', ${day}, GREATEST(COALESCE(array_position(ARRAY['lead', 'qualified', 'proposal', 'negotiation', 'won']::text[], r.stage) - 1, -1), r.furthest)::text, NULL, 0, 0, 0
	     WHERE r.created_at IS NOT NULL
	    UNION ALL
	    SELECT 'quarter', floor(EXTRACT(EPOCH FROM r.created_at) / 900)::bigint, NULL, NULL, 0, 0, 0 WHERE r.created_at IS NOT NULL
	    UNION ALL
	    SELECT 'forecast', (r.follow_up_at - DATE '1970-01-01')::bigint, NULL, r.currency, 1, r.cents,
	           round(r.cents * CASE r.stage WHEN 'lead' THEN 10 WHEN 'qualified' THEN 25 WHEN 'proposal' THEN 50 WHEN 'negotiation' THEN 75 END / 100.0)
	     WHERE r.follow_up_at IS NOT NULL AND r.cents IS NOT NULL AND ${open}
	  ) AS x
	 WHERE r.scope IS NOT NULL`;
}

/** Adds a statement's contributions to analytics_counts, in key order (two writers lock rows in one order). */
function analyticsCountsUpsert(contributions: string): string {
	return `INSERT INTO analytics_counts AS c (workspace_id, kind, scope, at, key, currency, n, valued, cents, weighted)
	SELECT d.workspace_id, d.kind, d.scope, d.at, d.key, d.currency, sum(d.n)::int, sum(d.valued)::int, sum(d.cents), sum(d.weighted)
	  FROM (${contributions}) AS d
	 GROUP BY 1, 2, 3, 4, 5, 6
	HAVING sum(d.n) <> 0 OR sum(d.valued) <> 0 OR sum(d.cents) <> 0 OR sum(d.weighted) <> 0
	 ORDER BY 1, 2, 3, 4, 5, 6
	ON CONFLICT (workspace_id, kind, scope, at, key, currency) DO UPDATE
	   SET n = c.n + EXCLUDED.n, valued = c.valued + EXCLUDED.valued, cents = c.cents + EXCLUDED.cents, weighted = c.weighted + EXCLUDED.weighted;`;
}

/**
 * Migration 16's stay-length buckets, in days: width_bucket's edges (bucket i is [STAY_EDGES[i - 1],
 * STAY_EDGES[i]), the last one unbounded). Bucket 0 holds the stays of length 0 only (a change at or
 * before creation, clamped to 0; times are whole microseconds, 1.16e-11 days), often the most
 * common length of an imported history, so a middle among them is known without reading them.
 * Then a day wide up to a month, five days up to a year, thirty beyond.
 */
export const STAY_EDGES: readonly number[] = stayEdges();
function stayEdges(): number[] {
	const edges: number[] = [1e-11];
	for (let d = 1; d <= 30; d++) edges.push(d);
	for (let d = 35; d <= 365; d += 5) edges.push(d);
	for (let d = 395; d <= 1095; d += 30) edges.push(d);
	return edges;
}

/** Migration 16's stays per stage, length bucket, and UTC month and day they ended. */
function analyticsStayRows(rows: string, sign: 1 | -1): string {
	return `SELECT r.workspace_id, r.stage, u.unit, u.at, width_bucket(r.days, ARRAY[${stayEdges().join(', ')}]::float8[])::smallint AS bucket, r.scope, ${sign} AS n
	  FROM ${rows} r CROSS JOIN LATERAL (
	    SELECT 'd'::"char" AS unit, floor(EXTRACT(EPOCH FROM r.left_at) / 86400)::bigint AS at
	    UNION ALL
	    SELECT 'm'::"char", ((EXTRACT(YEAR FROM r.left_at AT TIME ZONE 'UTC') - 1970) * 12 + EXTRACT(MONTH FROM r.left_at AT TIME ZONE 'UTC') - 1)::bigint) AS u`;
}

function analyticsStayCountsUpsert(contributions: string): string {
	return `INSERT INTO analytics_stay_counts AS c (workspace_id, stage, unit, at, bucket, scope, n)
	SELECT d.workspace_id, d.stage, d.unit, d.at, d.bucket, d.scope, sum(d.n)::int FROM (${contributions}) AS d
	 GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(d.n) <> 0 ORDER BY 1, 2, 3, 4, 5, 6
	ON CONFLICT (workspace_id, stage, unit, at, bucket, scope) DO UPDATE SET n = c.n + EXCLUDED.n;`;
}

/**
 * Migration 17's narrow row of a summary (a table or a trigger's transition table), in
 * analytics_customers' column order; visible summaries only. The activity array is sorted
 * and 1-based (server/analytics-store.ts writes it so): a[n] is the latest, a[n - 4] the 5th
 * latest, a[5] the 5th earliest; an index past either end gives null, hence the sentinels.
 */
function analyticsCustomerColumns(rows: string): string {
	const a = 'r.activity_ms';
	const n = `cardinality(${a})`;
	const latest = (k: number) => `COALESCE(${a}[${n} - ${k - 1}], '-9223372036854775808'::bigint)`;
	const earliest = (k: number) => `COALESCE(${a}[${k}], '9223372036854775807'::bigint)`;
	return `r.record_id, ${latest(5)}, ${latest(10)}, ${latest(20)}, ${earliest(5)}, ${earliest(10)}, ${earliest(20)},
	       COALESCE(r.stage = 'lost', false), COALESCE(${a}[${n}], floor(EXTRACT(EPOCH FROM r.created_at) * 1000)::bigint), ${a}[${n}], ${a}[1],
	       CASE WHEN abs(r.cents) < ${CENTS8_LIMIT} THEN r.cents::bigint END,
	       CASE WHEN r.cents = 0 THEN 0 ELSE sign(r.cents)::int * (1 + floor(ln(abs(r.cents)) * 16)::int) END,
	       r.workspace_id, r.scope, r.currency, r.cents
	  FROM ${rows} r WHERE r.scope IS NOT NULL`;
}

/** Migration 17's value counts moved by some rows' contributions (n: 1 or -1 each). */
function analyticsValueCountsUpsert(contributions: string): string {
	return `INSERT INTO analytics_value_counts AS v (workspace_id, currency, vbucket, scope, n)
	SELECT d.workspace_id, d.currency, d.vbucket, d.scope, sum(d.n)::int FROM (${contributions}) AS d
	 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
	ON CONFLICT (workspace_id, currency, vbucket, scope) DO UPDATE SET n = v.n + EXCLUDED.n;`;
}

/** Any constant both engines agree on; it only has to differ from other advisory locks of the database. */
const MIGRATION_LOCK = 0x6163636f7264; // 'accord'

const CREATE_LEDGER = `
	CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`;

/**
 * Applies the migrations not yet recorded, each in its own transaction, and returns
 * their versions. Every transaction first takes a transaction-scoped advisory lock,
 * so two instances starting together against one Postgres apply each migration once:
 * the second waits, then finds it recorded. (PGlite has one connection; the lock is
 * harmless there and keeps the SQL the same.)
 */
export async function migrate(sql: Sql, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
	assertOrdered(migrations);
	const applied: number[] = [];
	for (const migration of migrations) {
		const ran = await sql.transaction(async (tx) => {
			await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
			await tx.exec(CREATE_LEDGER);
			const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
			if (done.length > 0) return false;
			await tx.exec(migration.sql);
			await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
			return true;
		});
		if (ran) applied.push(migration.version);
	}
	return applied;
}

function assertOrdered(migrations: readonly Migration[]): void {
	migrations.forEach((migration, index) => {
		const previous = index === 0 ? 0 : migrations[index - 1].version;
		if (!Number.isInteger(migration.version) || migration.version <= previous) {
			throw new Error(`migration versions must be increasing integers; ${migration.version} follows ${previous}`);
		}
	});
}
