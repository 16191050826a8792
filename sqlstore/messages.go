package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/codebuddy-dev/codebuddy"
)

type messageRow struct {
	bun.BaseModel `bun:"table:messages"`

	ID        string    `bun:"id,pk"`
	SessionID string    `bun:"session_id"`
	UserID    *string   `bun:"user_id"`
	Content   string    `bun:"content"`
	CreatedAt time.Time `bun:"created_at"`
}

// CreateMessage implements codebuddy.MessageStore.
func (db *DB) CreateMessage(ctx context.Context, m *codebuddy.Message) error {
	if err := codebuddy.ValidateMessage(m.Content); err != nil {
		return err
	}
	if m.ID == "" {
		m.ID = db.NewID()
	}
	m.CreatedAt = db.Now()
	uid := m.UserID
	row := &messageRow{ID: m.ID, SessionID: m.SessionID, UserID: &uid, Content: m.Content, CreatedAt: m.CreatedAt}
	if _, err := db.write.NewInsert().Model(row).Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return codebuddy.Errorf(codebuddy.ENOTFOUND, "session not found")
		}
		return fmt.Errorf("insert message: %w", err)
	}
	return nil
}

// Messages implements codebuddy.MessageStore. IDs are time-ordered (UUIDv7), so the
// id is the cursor.
func (db *DB) Messages(ctx context.Context, sessionID, before string, limit int) ([]*codebuddy.Message, error) {
	if limit <= 0 || limit > codebuddy.MaxPageSize {
		limit = codebuddy.MaxPageSize
	}
	var rows []struct {
		ID        string    `bun:"id"`
		UserID    *string   `bun:"user_id"`
		Username  *string   `bun:"username"`
		Content   string    `bun:"content"`
		CreatedAt time.Time `bun:"created_at"`
	}
	q := `SELECT m.id, m.user_id, u.username, m.content, m.created_at FROM messages m
		LEFT JOIN users u ON u.id = m.user_id WHERE m.session_id = ?`
	args := []any{sessionID}
	if before != "" {
		q += " AND m.id < ?"
		args = append(args, before)
	}
	q += " ORDER BY m.id DESC LIMIT ?"
	args = append(args, limit)
	if err := db.read.NewRaw(q, args...).Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	out := make([]*codebuddy.Message, len(rows))
	for i, r := range rows {
		m := &codebuddy.Message{ID: r.ID, SessionID: sessionID, Content: r.Content, CreatedAt: r.CreatedAt.UTC()}
		if r.UserID != nil {
			m.UserID = *r.UserID
		}
		if r.Username != nil {
			m.Username = *r.Username
		}
		out[i] = m
	}
	return out, nil
}

type notificationRow struct {
	bun.BaseModel `bun:"table:notifications"`

	ID        string    `bun:"id,pk"`
	UserID    string    `bun:"user_id"`
	Kind      string    `bun:"kind"`
	Title     string    `bun:"title"`
	Body      string    `bun:"body"`
	SessionID *string   `bun:"session_id"`
	IsRead    bool      `bun:"is_read"`
	CreatedAt time.Time `bun:"created_at"`
}

func (r *notificationRow) domain() *codebuddy.Notification {
	return &codebuddy.Notification{ID: r.ID, UserID: r.UserID, Kind: r.Kind, Title: r.Title, Body: r.Body,
		SessionID: r.SessionID, IsRead: r.IsRead, CreatedAt: r.CreatedAt.UTC()}
}

// CreateNotification implements codebuddy.NotificationStore.
func (db *DB) CreateNotification(ctx context.Context, n *codebuddy.Notification) error {
	if n.ID == "" {
		n.ID = db.NewID()
	}
	n.CreatedAt = db.Now()
	row := &notificationRow{ID: n.ID, UserID: n.UserID, Kind: n.Kind, Title: n.Title, Body: n.Body, SessionID: n.SessionID, CreatedAt: n.CreatedAt}
	if _, err := db.write.NewInsert().Model(row).Exec(ctx); err != nil {
		return fmt.Errorf("insert notification: %w", err)
	}
	return nil
}

// Notifications implements codebuddy.NotificationStore, newest first.
func (db *DB) Notifications(ctx context.Context, userID, before string, limit int, unreadOnly bool) ([]*codebuddy.Notification, error) {
	if limit <= 0 || limit > codebuddy.MaxPageSize {
		limit = codebuddy.MaxPageSize
	}
	var rows []notificationRow
	q := db.read.NewSelect().Model(&rows).Where("user_id = ?", userID)
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if unreadOnly {
		q = q.Where("NOT is_read")
	}
	if err := q.OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	out := make([]*codebuddy.Notification, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// UnreadCount implements codebuddy.NotificationStore.
func (db *DB) UnreadCount(ctx context.Context, userID string) (int, error) {
	n, err := db.read.NewSelect().Table("notifications").Where("user_id = ? AND NOT is_read", userID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count notifications: %w", err)
	}
	return int(n), nil
}

// MarkRead implements codebuddy.NotificationStore.
func (db *DB) MarkRead(ctx context.Context, userID, id string) error {
	res, err := db.write.NewUpdate().Table("notifications").Set("is_read = TRUE").Where("id = ? AND user_id = ?", id, userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	return mustAffect(res, "notification not found")
}

// MarkAllRead implements codebuddy.NotificationStore.
func (db *DB) MarkAllRead(ctx context.Context, userID string) (int64, error) {
	res, err := db.write.NewUpdate().Table("notifications").Set("is_read = TRUE").Where("user_id = ? AND NOT is_read", userID).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DeleteNotification implements codebuddy.NotificationStore.
func (db *DB) DeleteNotification(ctx context.Context, userID, id string) error {
	res, err := db.write.NewDelete().Table("notifications").Where("id = ? AND user_id = ?", id, userID).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete notification: %w", err)
	}
	return mustAffect(res, "notification not found")
}
