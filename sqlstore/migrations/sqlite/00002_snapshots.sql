-- +goose Up
-- Content snapshots of files, so opening or replaying never walks the whole log.
CREATE TABLE file_snapshots (
	file_id    TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
	version    INTEGER NOT NULL,
	content    TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (file_id, version)
);
CREATE INDEX file_updates_time ON file_updates (file_id, created_at);

-- +goose Down
DROP INDEX file_updates_time;
DROP TABLE file_snapshots;
