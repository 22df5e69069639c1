-- Channel names are unique ignoring ASCII case, public and private channels
-- together (DMs have no name). Names that repeat from before are renamed
-- first: the oldest of each name keeps it; each later one, in order of
-- creation, becomes `<name>-<n>` for n = 2, 3, …, its name cut short (and
-- trailing spaces dropped) to stay within 80 characters. Should that be taken
-- as well (a channel is called `general-2` already, or two long names cut to
-- the same), it becomes `<name>-<the last 12 hex digits of its id>`, which
-- are random, instead. The same renames as the SQLite store's migration.
--
-- The lock keeps nodes that still run the previous version from creating a
-- channel between the renames and the index.
LOCK TABLE channels IN SHARE ROW EXCLUSIVE MODE;

WITH ranked AS (
    SELECT id, name, row_number() OVER (PARTITION BY lower(name) ORDER BY created_at, id) AS n
    FROM channels
    WHERE kind <> 'direct'
),
first_try AS (
    SELECT id, name, rtrim(left(name, 80 - length('-' || n))) || '-' || n AS renamed
    FROM ranked
    WHERE n > 1
),
chosen AS (
    SELECT f.id,
           CASE WHEN NOT EXISTS (SELECT 1 FROM channels c
                                 WHERE c.kind <> 'direct' AND lower(c.name) = lower(f.renamed))
                 AND (SELECT count(*) FROM first_try g WHERE lower(g.renamed) = lower(f.renamed)) = 1
                THEN f.renamed
                ELSE rtrim(left(f.name, 67)) || '-' || right(f.id::text, 12)
           END AS name
    FROM first_try f
)
UPDATE channels c SET name = chosen.name FROM chosen WHERE c.id = chosen.id;

-- The names' keys (`Channel::name_key`): `name` is COLLATE "C", under which
-- lower() folds ASCII letters only, whatever the database's locale. The index
-- is also what finds a channel by its name.
CREATE UNIQUE INDEX channels_by_name ON channels (lower(name)) WHERE kind <> 'direct';
