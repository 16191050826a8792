package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codebuddy-dev/codebuddy"
)

var _ codebuddy.ChangeLog = (*DB)(nil)

type updateRow struct {
	bun.BaseModel `bun:"table:file_updates"`

	FileID    string    `bun:"file_id,pk"`
	Version   int64     `bun:"version,pk"`
	ClientID  string    `bun:"client_id"`
	UserID    *string   `bun:"user_id"`
	Changes   string    `bun:"changes"`
	CreatedAt time.Time `bun:"created_at"`
}

type snapshotRow struct {
	bun.BaseModel `bun:"table:file_snapshots"`

	FileID    string    `bun:"file_id,pk"`
	Version   int64     `bun:"version,pk"`
	Content   string    `bun:"content"`
	CreatedAt time.Time `bun:"created_at"`
}

// AppendUpdates implements codebuddy.ChangeLog. The snapshot also becomes the
// file row's content and version, which is what a cold open starts from.
func (db *DB) AppendUpdates(ctx context.Context, fileID string, after int64, updates []codebuddy.FileUpdate, snap *codebuddy.Snapshot) error {
	if len(updates) == 0 && snap == nil {
		return nil
	}
	now := db.Now()
	rows := make([]updateRow, len(updates))
	for i, u := range updates {
		var uid *string
		if u.UserID != "" {
			id := u.UserID
			uid = &id
		}
		rows[i] = updateRow{FileID: fileID, Version: after + int64(i) + 1, ClientID: u.ClientID, UserID: uid, Changes: u.Changes, CreatedAt: now}
		updates[i].Version, updates[i].CreatedAt, updates[i].FileID = rows[i].Version, now, fileID
	}
	return db.write.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if len(rows) > 0 {
			if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
				if isUniqueViolation(err) {
					return codebuddy.Errorf(codebuddy.ECONFLICT, "version %d of this file exists already", after+1)
				}
				if isForeignKeyViolation(err) {
					return codebuddy.Errorf(codebuddy.ENOTFOUND, "file not found")
				}
				return fmt.Errorf("insert updates: %w", err)
			}
		}
		if snap != nil {
			// Keep what the file row holds (the creation content at first) as a
			// snapshot before the row moves on, so every version stays replayable.
			if _, err := tx.NewRaw(`INSERT INTO file_snapshots (file_id, version, content, created_at)
				SELECT id, version, content, updated_at FROM files WHERE id = ? AND version < ?
				ON CONFLICT (file_id, version) DO NOTHING`, fileID, snap.Version).Exec(ctx); err != nil {
				return fmt.Errorf("keep previous snapshot: %w", err)
			}
			sr := &snapshotRow{FileID: fileID, Version: snap.Version, Content: snap.Content, CreatedAt: now}
			if _, err := tx.NewInsert().Model(sr).On("CONFLICT (file_id, version) DO NOTHING").Exec(ctx); err != nil {
				return fmt.Errorf("insert snapshot: %w", err)
			}
			if _, err := tx.NewUpdate().Table("files").Set("content = ?", snap.Content).Set("version = ?", snap.Version).
				Set("updated_at = ?", now).Where("id = ? AND version < ?", fileID, snap.Version).Exec(ctx); err != nil {
				return fmt.Errorf("update file snapshot: %w", err)
			}
		} else if len(rows) > 0 {
			if _, err := tx.NewUpdate().Table("files").Set("updated_at = ?", now).Where("id = ?", fileID).Exec(ctx); err != nil {
				return fmt.Errorf("touch file: %w", err)
			}
		}
		return nil
	})
}

// Updates implements codebuddy.ChangeLog.
func (db *DB) Updates(ctx context.Context, fileID string, from, to int64) ([]codebuddy.FileUpdate, error) {
	var rows []updateRow
	q := db.read.NewSelect().Model(&rows).Where("file_id = ? AND version > ?", fileID, from)
	if to >= 0 {
		q = q.Where("version <= ?", to)
	}
	if err := q.OrderExpr("version").Scan(ctx); err != nil {
		return nil, fmt.Errorf("select updates: %w", err)
	}
	out := make([]codebuddy.FileUpdate, len(rows))
	for i, r := range rows {
		out[i] = codebuddy.FileUpdate{FileID: fileID, Version: r.Version, ClientID: r.ClientID, Changes: r.Changes, CreatedAt: r.CreatedAt.UTC()}
		if r.UserID != nil {
			out[i].UserID = *r.UserID
		}
	}
	return out, nil
}

// LatestSnapshot implements codebuddy.ChangeLog; a file that has none yet starts
// from its row (content at files.version, the creation content at version 0).
func (db *DB) LatestSnapshot(ctx context.Context, fileID string, atOrBefore int64) (*codebuddy.Snapshot, error) {
	var row snapshotRow
	q := db.read.NewSelect().Model(&row).Where("file_id = ?", fileID)
	if atOrBefore >= 0 {
		q = q.Where("version <= ?", atOrBefore)
	}
	err := q.OrderExpr("version DESC").Limit(1).Scan(ctx)
	if err == nil {
		return &codebuddy.Snapshot{FileID: fileID, Version: row.Version, Content: row.Content}, nil
	}
	if !isNoRows(err) {
		return nil, fmt.Errorf("select snapshot: %w", err)
	}
	var f fileRow
	if err := db.read.NewSelect().Model(&f).Where("id = ?", fileID).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "file not found")
		}
		return nil, fmt.Errorf("select file: %w", err)
	}
	if atOrBefore >= 0 && f.Version > atOrBefore {
		return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "no content is kept for version %d", atOrBefore)
	}
	return &codebuddy.Snapshot{FileID: fileID, Version: f.Version, Content: f.Content}, nil
}

// VersionAt implements codebuddy.ChangeLog.
func (db *DB) VersionAt(ctx context.Context, fileID string, t time.Time) (int64, error) {
	var v *int64
	err := db.read.NewSelect().Table("file_updates").ColumnExpr("max(version)").
		Where("file_id = ? AND created_at <= ?", fileID, t).Scan(ctx, &v)
	if err != nil {
		return 0, fmt.Errorf("version at: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Head implements codebuddy.ChangeLog.
func (db *DB) Head(ctx context.Context, fileID string) (int64, error) {
	var v *int64
	if err := db.read.NewSelect().Table("file_updates").ColumnExpr("max(version)").Where("file_id = ?", fileID).Scan(ctx, &v); err != nil {
		return 0, fmt.Errorf("head version: %w", err)
	}
	if v == nil {
		var fv int64
		if err := db.read.NewSelect().Table("files").Column("version").Where("id = ?", fileID).Scan(ctx, &fv); err != nil {
			if isNoRows(err) {
				return 0, codebuddy.Errorf(codebuddy.ENOTFOUND, "file not found")
			}
			return 0, fmt.Errorf("file version: %w", err)
		}
		return fv, nil
	}
	return *v, nil
}
