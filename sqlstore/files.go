package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/codebuddy-dev/codebuddy"
)

type fileRow struct {
	bun.BaseModel `bun:"table:files"`

	ID        string    `bun:"id,pk"`
	SessionID string    `bun:"session_id"`
	ParentID  *string   `bun:"parent_id"`
	Name      string    `bun:"name"`
	IsFolder  bool      `bun:"is_folder"`
	Content   string    `bun:"content"`
	Version   int64     `bun:"version"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func fileRowOf(f *codebuddy.File) *fileRow {
	return &fileRow{ID: f.ID, SessionID: f.SessionID, ParentID: f.ParentID, Name: f.Name, IsFolder: f.IsFolder,
		Content: f.Content, Version: f.Version, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
}

func (r *fileRow) domain() *codebuddy.File {
	return &codebuddy.File{ID: r.ID, SessionID: r.SessionID, ParentID: r.ParentID, Name: r.Name, IsFolder: r.IsFolder,
		Content: r.Content, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// tree is a session's file tree without contents, for paths, depth and cycle checks.
type tree map[string]*fileRow

func (db *DB) loadTree(ctx context.Context, idb bun.IDB, sessionID string) (tree, error) {
	var rows []fileRow
	if err := idb.NewSelect().Model(&rows).ExcludeColumn("content").Where("session_id = ?", sessionID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load file tree: %w", err)
	}
	t := make(tree, len(rows))
	for i := range rows {
		t[rows[i].ID] = &rows[i]
	}
	return t, nil
}

// lockTree serialises tree changes within one session. The limit, clash-free
// depth and cycle checks read the tree and then write; two such transactions
// running side by side could each pass and together break the rule (two folders
// moved into each other form a cycle cut off from the root). SQLite's single write
// connection already runs them one at a time; on PostgreSQL the session row is
// locked. FOR NO KEY UPDATE leaves the foreign-key checks of other tables' inserts
// (chat, invites) unblocked.
func (db *DB) lockTree(ctx context.Context, tx bun.Tx, sessionID string) error {
	if db.engine != Postgres {
		return nil
	}
	if _, err := tx.NewRaw("SELECT id FROM sessions WHERE id = ? FOR NO KEY UPDATE", sessionID).Exec(ctx); err != nil {
		return fmt.Errorf("lock file tree: %w", err)
	}
	return nil
}

// path joins the names from the root down to id.
func (t tree) path(id string) string {
	var parts []string
	for cur, n := t[id], 0; cur != nil && n <= codebuddy.MaxFileDepth+1; n++ {
		parts = append(parts, cur.Name)
		if cur.ParentID == nil {
			break
		}
		cur = t[*cur.ParentID]
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// depth is the number of entries from the root down to id inclusive (a root file is 1).
func (t tree) depth(id string) int {
	d := 0
	for cur := t[id]; cur != nil && d <= codebuddy.MaxFileDepth+1; {
		d++
		if cur.ParentID == nil {
			break
		}
		cur = t[*cur.ParentID]
	}
	return d
}

// height is how many levels the subtree rooted at id spans (a file is 1).
func (t tree) height(id string) int {
	children := map[string][]string{}
	for _, r := range t {
		if r.ParentID != nil {
			children[*r.ParentID] = append(children[*r.ParentID], r.ID)
		}
	}
	var h func(string, int) int
	h = func(id string, guard int) int {
		best := 0
		if guard > codebuddy.MaxFileDepth+1 {
			return guard
		}
		for _, c := range children[id] {
			best = max(best, h(c, guard+1))
		}
		return best + 1
	}
	return h(id, 0)
}

func (db *DB) checkParent(t tree, sessionID string, parentID *string) error {
	if parentID == nil {
		return nil
	}
	p, ok := t[*parentID]
	if !ok || p.SessionID != sessionID {
		return &codebuddy.Error{Code: codebuddy.EINVALID, Field: "parentId", Message: "no such folder in this session"}
	}
	if !p.IsFolder {
		return &codebuddy.Error{Code: codebuddy.EINVALID, Field: "parentId", Message: "is a file, not a folder"}
	}
	return nil
}

func clash(name string) error {
	return &codebuddy.Error{Code: codebuddy.ECONFLICT, Field: "name", Message: fmt.Sprintf("%q already exists in this folder", name)}
}

// Files implements codebuddy.FileStore.
func (db *DB) Files(ctx context.Context, sessionID string) ([]*codebuddy.File, error) {
	t, err := db.loadTree(ctx, db.read, sessionID)
	if err != nil {
		return nil, err
	}
	out := make([]*codebuddy.File, 0, len(t))
	for id, r := range t {
		f := r.domain()
		f.Path = t.path(id)
		out = append(out, f)
	}
	sortFiles(out)
	return out, nil
}

func sortFiles(fs []*codebuddy.File) {
	// Folders and files interleave by path, which is what a tree view walks.
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Path < fs[j-1].Path; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// File implements codebuddy.FileStore.
func (db *DB) File(ctx context.Context, id string) (*codebuddy.File, error) {
	var row fileRow
	if err := db.read.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, codebuddy.Errorf(codebuddy.ENOTFOUND, "file not found")
		}
		return nil, fmt.Errorf("select file: %w", err)
	}
	f := row.domain()
	if f.ParentID != nil {
		t, err := db.loadTree(ctx, db.read, f.SessionID)
		if err != nil {
			return nil, err
		}
		f.Path = t.path(f.ID)
	} else {
		f.Path = f.Name
	}
	return f, nil
}

// CreateFile implements codebuddy.FileStore.
func (db *DB) CreateFile(ctx context.Context, f *codebuddy.File) error {
	if err := codebuddy.ValidateFileName(f.Name); err != nil {
		return err
	}
	if len(f.Content) > codebuddy.MaxFileContentBytes {
		return &codebuddy.Error{Code: codebuddy.ETOOLARGE, Field: "content", Message: fmt.Sprintf("file content is limited to %d bytes", codebuddy.MaxFileContentBytes)}
	}
	if f.IsFolder && f.Content != "" {
		return codebuddy.FieldErrorf("content", "a folder has no content")
	}
	if f.ID == "" {
		f.ID = db.NewID()
	}
	now := db.Now()
	f.CreatedAt, f.UpdatedAt, f.Version = now, now, 0
	return db.write.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := db.lockTree(ctx, tx, f.SessionID); err != nil {
			return err
		}
		t, err := db.loadTree(ctx, tx, f.SessionID)
		if err != nil {
			return err
		}
		if len(t) >= codebuddy.MaxFilesPerSession {
			return codebuddy.Errorf(codebuddy.ECONFLICT, "a session holds at most %d files and folders", codebuddy.MaxFilesPerSession)
		}
		if err := db.checkParent(t, f.SessionID, f.ParentID); err != nil {
			return err
		}
		depth := 1
		if f.ParentID != nil {
			depth = t.depth(*f.ParentID) + 1
		}
		if depth > codebuddy.MaxFileDepth {
			return &codebuddy.Error{Code: codebuddy.EINVALID, Field: "parentId", Message: fmt.Sprintf("folders nest at most %d levels deep", codebuddy.MaxFileDepth)}
		}
		if _, err := tx.NewInsert().Model(fileRowOf(f)).Exec(ctx); err != nil {
			if isUniqueViolation(err) {
				return clash(f.Name)
			}
			if isForeignKeyViolation(err) {
				return codebuddy.Errorf(codebuddy.ENOTFOUND, "session not found")
			}
			return fmt.Errorf("insert file: %w", err)
		}
		t[f.ID] = fileRowOf(f)
		f.Path = t.path(f.ID)
		return nil
	})
}

// MoveFile implements codebuddy.FileStore.
func (db *DB) MoveFile(ctx context.Context, id string, parentID *string, name string) (*codebuddy.File, error) {
	if err := codebuddy.ValidateFileName(name); err != nil {
		return nil, err
	}
	var out *codebuddy.File
	err := db.write.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row fileRow
		if err := tx.NewSelect().Model(&row).ExcludeColumn("content").Where("id = ?", id).Scan(ctx); err != nil {
			if isNoRows(err) {
				return codebuddy.Errorf(codebuddy.ENOTFOUND, "file not found")
			}
			return fmt.Errorf("select file: %w", err)
		}
		if err := db.lockTree(ctx, tx, row.SessionID); err != nil {
			return err
		}
		t, err := db.loadTree(ctx, tx, row.SessionID)
		if err != nil {
			return err
		}
		if err := db.checkParent(t, row.SessionID, parentID); err != nil {
			return err
		}
		if parentID != nil {
			// Walking up from the new parent must not meet the moved entry.
			for cur, n := t[*parentID], 0; cur != nil && n <= codebuddy.MaxFileDepth+1; n++ {
				if cur.ID == id {
					return &codebuddy.Error{Code: codebuddy.EINVALID, Field: "parentId", Message: "cannot move a folder into itself or one of its subfolders"}
				}
				if cur.ParentID == nil {
					break
				}
				cur = t[*cur.ParentID]
			}
			if t.depth(*parentID)+t.height(id) > codebuddy.MaxFileDepth {
				return &codebuddy.Error{Code: codebuddy.EINVALID, Field: "parentId", Message: fmt.Sprintf("folders nest at most %d levels deep", codebuddy.MaxFileDepth)}
			}
		}
		now := db.Now()
		_, err = tx.NewUpdate().Table("files").Set("parent_id = ?", parentID).Set("name = ?", name).Set("updated_at = ?", now).
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			if isUniqueViolation(err) {
				return clash(name)
			}
			return fmt.Errorf("move file: %w", err)
		}
		row.ParentID, row.Name, row.UpdatedAt = parentID, name, now
		t[id] = &row
		out = row.domain()
		out.Path = t.path(id)
		return nil
	})
	return out, err
}

// DeleteFile implements codebuddy.FileStore; a folder's children go with it (ON DELETE CASCADE).
// It takes the tree lock too: a create or move into a folder being deleted then
// either lands before (and goes with it) or finds no such folder, instead of
// failing on the foreign key.
func (db *DB) DeleteFile(ctx context.Context, id string) error {
	return db.write.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var sessionID string
		if err := tx.NewSelect().Table("files").Column("session_id").Where("id = ?", id).Scan(ctx, &sessionID); err != nil {
			if isNoRows(err) {
				return codebuddy.Errorf(codebuddy.ENOTFOUND, "file not found")
			}
			return fmt.Errorf("select file: %w", err)
		}
		if err := db.lockTree(ctx, tx, sessionID); err != nil {
			return err
		}
		res, err := tx.NewDelete().Table("files").Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete file: %w", err)
		}
		return mustAffect(res, "file not found")
	})
}
