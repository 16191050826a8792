package codebuddy

import (
	"context"
	"time"
)

// FileUpdate is one accepted change of a file: exactly one per (file, version).
// Changes is the change set in CodeMirror's JSON form.
type FileUpdate struct {
	FileID    string
	Version   int64 // the version this update produces (the first update of a file is 1)
	ClientID  string
	UserID    string
	Changes   string
	CreatedAt time.Time
}

// Snapshot is a file's content at a version.
type Snapshot struct {
	FileID  string
	Version int64
	Content string
}

// ChangeLog persists the update log and content snapshots.
type ChangeLog interface {
	// AppendUpdates commits updates with versions after..after+len atomically.
	// ECONFLICT when one of those versions exists already (another node won it).
	// A non-nil snapshot is stored in the same transaction.
	AppendUpdates(ctx context.Context, fileID string, after int64, updates []FileUpdate, snapshot *Snapshot) error
	// Updates returns the updates with from < version <= to (to < 0: no upper bound), in order.
	Updates(ctx context.Context, fileID string, from, to int64) ([]FileUpdate, error)
	// LatestSnapshot returns the newest snapshot at or before version (version < 0: newest).
	LatestSnapshot(ctx context.Context, fileID string, atOrBefore int64) (*Snapshot, error)
	// VersionAt returns the last version created at or before t (0 when none).
	VersionAt(ctx context.Context, fileID string, t time.Time) (int64, error)
	// Head returns the highest committed version (0 when none).
	Head(ctx context.Context, fileID string) (int64, error)
}
