-- Text search sees the words SQLite's FTS5 sees (cortex/store/postgres/lexical.py).
--
-- The store now hands `to_tsvector` and `phraseto_tsquery` text already split into words
-- (e-mail addresses, file names and hosts into their parts), accents folded and lower-cased.
-- `cortex_english` only stems those words: the `english` configuration with its snowball
-- dictionary swapped for one without a stopword list, so "and", "not" or "the" are indexed
-- and a query of stopwords only finds them, as in SQLite. (Queries drop stopwords while any
-- other word is left, and text search drops very common words unless none is rarer: an
-- indexed stopword costs index space, not query time.)
--
-- Text search dictionaries and configurations carry no privileges: the serving role
-- (cortex_app) uses them through its USAGE on the schema, like the tables.
--
-- Every row's `search` is then derived again in the same transaction, right after this file
-- (postgres/maintenance.py, rederive_search): the text is sealed, so only the store can read
-- it. A row whose text does not open keeps its vector (`cortex check` reports that row).
CREATE TEXT SEARCH DICTIONARY cortex_english_stem (TEMPLATE = snowball, Language = english);
COMMENT ON TEXT SEARCH DICTIONARY cortex_english_stem IS 'snowball english, no stopwords (Cortex)';

CREATE TEXT SEARCH CONFIGURATION cortex_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION cortex_english
    ALTER MAPPING REPLACE english_stem WITH cortex_english_stem;
COMMENT ON TEXT SEARCH CONFIGURATION cortex_english IS 'english without stopwords, over words split by Cortex';
