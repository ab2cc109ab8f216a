-- Text search through the GIN index again, for the serving role.
--
-- Under row-level security the planner may use a query condition as an index condition
-- only if its operator is LEAKPROOF (it would otherwise run before the tenant policy).
-- `tsvector @@ tsquery` is not, so as cortex_app every `search @@ q` was a filter on a scan
-- of the tenant's rows: the GIN index on (tenant, search) was never used (measured on a
-- 20k-row tenant: 50-150 ms per query instead of 5-30 ms).
--
-- cortex_text_matches(q, max_rows) answers that one question through the index: the
-- `seq` of at most `max_rows` (NULL: all) memories of the tenant the transaction is bound
-- to (cortex.tenant, as the policies read it) whose search vector matches q. It runs as
-- cortex_cross_tenant (SECURITY DEFINER, fixed search_path), whose read-only policy lets
-- the planner use the index, but it reads only the bound tenant's rows and returns only
-- their seq: nothing the caller could not already read. The store joins the seqs back to
-- `memories` as itself, under the policies, to filter and rank them
-- (postgres/search.py, text_search).
CREATE FUNCTION cortex_text_matches(q tsquery, max_rows bigint) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT seq FROM memories
    WHERE tenant = current_setting('cortex.tenant', true) AND search @@ q
    LIMIT max_rows
$$;

GRANT CREATE ON SCHEMA public TO cortex_cross_tenant;  -- needed to take ownership, then revoked
ALTER FUNCTION cortex_text_matches(tsquery, bigint) OWNER TO cortex_cross_tenant;
REVOKE CREATE ON SCHEMA public FROM cortex_cross_tenant;
REVOKE ALL ON FUNCTION cortex_text_matches(tsquery, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cortex_text_matches(tsquery, bigint) TO cortex_app;
