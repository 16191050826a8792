-- +goose Up
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	email         TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL,
	theme         TEXT NOT NULL DEFAULT 'system',
	created_at    TIMESTAMP NOT NULL,
	updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_username ON users (lower(username));

CREATE TABLE tokens (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind         TEXT NOT NULL CHECK (kind IN ('session', 'api')),
	name         TEXT NOT NULL DEFAULT '',
	hash         BLOB NOT NULL UNIQUE,
	created_at   TIMESTAMP NOT NULL,
	expires_at   TIMESTAMP,
	last_used_at TIMESTAMP
);
CREATE INDEX tokens_user ON tokens (user_id, kind);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	language     TEXT NOT NULL,
	is_public    BOOLEAN NOT NULL DEFAULT FALSE,
	visitor_role TEXT NOT NULL DEFAULT 'viewer' CHECK (visitor_role IN ('editor', 'viewer')),
	owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at   TIMESTAMP NOT NULL,
	updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX sessions_owner ON sessions (owner_id);
CREATE INDEX sessions_public ON sessions (is_public, updated_at);

CREATE TABLE participants (
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role       TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (session_id, user_id)
);
CREATE INDEX participants_session ON participants (session_id);
CREATE INDEX participants_user ON participants (user_id);

CREATE TABLE invites (
	id         TEXT PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	hash       BLOB NOT NULL UNIQUE,
	role       TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
	expires_at TIMESTAMP,
	max_uses   INTEGER,
	uses       INTEGER NOT NULL DEFAULT 0,
	revoked_at TIMESTAMP,
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX invites_session ON invites (session_id);

CREATE TABLE access_requests (
	id         TEXT PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	status     TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
	message    TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	decided_at TIMESTAMP
);
CREATE INDEX access_requests_session ON access_requests (session_id, status);
CREATE UNIQUE INDEX access_requests_one_pending ON access_requests (session_id, user_id) WHERE status = 'pending';

CREATE TABLE files (
	id         TEXT PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	parent_id  TEXT REFERENCES files (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	is_folder  BOOLEAN NOT NULL DEFAULT FALSE,
	content    TEXT NOT NULL DEFAULT '',
	version    INTEGER NOT NULL DEFAULT 0,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
CREATE INDEX files_session ON files (session_id);
CREATE UNIQUE INDEX files_name ON files (session_id, coalesce(parent_id, ''), name);

-- The change log: one row per accepted update, the key decides which node wins a version.
CREATE TABLE file_updates (
	file_id    TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
	version    INTEGER NOT NULL,
	client_id  TEXT NOT NULL,
	user_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
	changes    TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	PRIMARY KEY (file_id, version)
);

CREATE TABLE messages (
	id         TEXT PRIMARY KEY,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	user_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
	content    TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX messages_session ON messages (session_id, id);

CREATE TABLE notifications (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	title      TEXT NOT NULL,
	body       TEXT NOT NULL DEFAULT '',
	session_id TEXT REFERENCES sessions (id) ON DELETE CASCADE,
	is_read    BOOLEAN NOT NULL DEFAULT FALSE,
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, is_read);

-- +goose Down
DROP TABLE notifications;
DROP TABLE messages;
DROP TABLE file_updates;
DROP TABLE files;
DROP TABLE access_requests;
DROP TABLE invites;
DROP TABLE participants;
DROP TABLE sessions;
DROP TABLE tokens;
DROP TABLE users;
