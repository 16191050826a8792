-- +goose Up
CREATE TABLE executions (
	id               TEXT PRIMARY KEY,
	user_id          TEXT REFERENCES users (id) ON DELETE SET NULL,
	session_id       TEXT REFERENCES sessions (id) ON DELETE CASCADE,
	language         TEXT NOT NULL,
	version          TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	exit_code        INTEGER NOT NULL DEFAULT 0,
	signal           TEXT NOT NULL DEFAULT '',
	stdout           TEXT NOT NULL DEFAULT '',
	stderr           TEXT NOT NULL DEFAULT '',
	compile_output   TEXT NOT NULL DEFAULT '',
	time_ms          BIGINT NOT NULL DEFAULT 0,
	cpu_ms           BIGINT NOT NULL DEFAULT 0,
	memory_kb        BIGINT NOT NULL DEFAULT 0,
	stdout_truncated BOOLEAN NOT NULL DEFAULT FALSE,
	stderr_truncated BOOLEAN NOT NULL DEFAULT FALSE,
	created_at       TIMESTAMPTZ NOT NULL,
	finished_at      TIMESTAMPTZ
);
CREATE INDEX executions_session ON executions (session_id, id);
CREATE INDEX executions_user ON executions (user_id, id);

-- +goose Down
DROP TABLE executions;
