package workspace

import (
	"context"
	"strings"

	"github.com/codebuddy-dev/codebuddy"
)

// Files lists a session's tree (any role).
func (s *Service) Files(ctx context.Context, u *codebuddy.User, sessionID string) ([]*codebuddy.File, error) {
	if _, _, err := s.Access(ctx, u, sessionID); err != nil {
		return nil, err
	}
	return s.store.Files(ctx, sessionID)
}

// File returns one file with content and the caller's role in its session. Files of
// sessions the caller cannot see are ENOTFOUND.
func (s *Service) File(ctx context.Context, u *codebuddy.User, fileID string) (*codebuddy.File, string, error) {
	f, err := s.store.File(ctx, fileID)
	if err != nil {
		return nil, "", err
	}
	_, role, err := s.Access(ctx, u, f.SessionID)
	if err != nil {
		if codebuddy.ErrorCode(err) == codebuddy.ENOTFOUND {
			return nil, "", codebuddy.Errorf(codebuddy.ENOTFOUND, "file not found")
		}
		return nil, "", err // unauthorized or a failing database, not a missing file
	}
	return f, role, nil
}

// FileInput creates a file or folder.
type FileInput struct {
	ParentID *string
	Name     string
	IsFolder bool
	Content  string
}

// CreateFile adds a file or folder (editor or owner).
func (s *Service) CreateFile(ctx context.Context, u *codebuddy.User, sessionID string, in FileInput) (*codebuddy.File, error) {
	if _, _, err := s.require(ctx, u, sessionID, codebuddy.RoleEditor); err != nil {
		return nil, err
	}
	// Browsers' editors count "\r\n" as one line break; store what they will see.
	content := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(in.Content)
	f := &codebuddy.File{SessionID: sessionID, ParentID: in.ParentID, Name: in.Name, IsFolder: in.IsFolder, Content: content}
	if err := s.store.CreateFile(ctx, f); err != nil {
		return nil, err
	}
	f.Content = ""
	s.notifier.FileChanged(ctx, codebuddy.FileCreated, f)
	return f, nil
}

// MoveFile renames and/or moves (editor or owner). parentID nil with move=true moves to the root.
func (s *Service) MoveFile(ctx context.Context, u *codebuddy.User, fileID string, name *string, parentID *string, move bool) (*codebuddy.File, error) {
	f, role, err := s.File(ctx, u, fileID)
	if err != nil {
		return nil, err
	}
	if codebuddy.RoleRank(role) < codebuddy.RoleRank(codebuddy.RoleEditor) {
		return nil, codebuddy.Errorf(codebuddy.EFORBIDDEN, "viewers cannot change this session")
	}
	newName, newParent := f.Name, f.ParentID
	if name != nil {
		newName = *name
	}
	if move {
		newParent = parentID
	}
	out, err := s.store.MoveFile(ctx, fileID, newParent, newName)
	if err != nil {
		return nil, err
	}
	s.notifier.FileChanged(ctx, codebuddy.FileRenamed, out)
	return out, nil
}

// DeleteFile removes a file or folder recursively (editor or owner).
func (s *Service) DeleteFile(ctx context.Context, u *codebuddy.User, fileID string) error {
	f, role, err := s.File(ctx, u, fileID)
	if err != nil {
		return err
	}
	if codebuddy.RoleRank(role) < codebuddy.RoleRank(codebuddy.RoleEditor) {
		return codebuddy.Errorf(codebuddy.EFORBIDDEN, "viewers cannot change this session")
	}
	if err := s.store.DeleteFile(ctx, fileID); err != nil {
		return err
	}
	f.Content = ""
	s.notifier.FileChanged(ctx, codebuddy.FileDeleted, f)
	return nil
}

// PostMessage adds a chat message. Every participant, viewers included, may chat:
// chat is conversation about the session, not a change to it.
func (s *Service) PostMessage(ctx context.Context, u *codebuddy.User, sessionID, content string) (*codebuddy.Message, error) {
	if _, _, err := s.Access(ctx, u, sessionID); err != nil {
		return nil, err
	}
	m := &codebuddy.Message{SessionID: sessionID, UserID: u.ID, Username: u.Username, Content: content}
	if err := s.store.CreateMessage(ctx, m); err != nil {
		return nil, err
	}
	s.notifier.ChatPosted(ctx, m)
	return m, nil
}

// Messages pages chat history, newest first.
func (s *Service) Messages(ctx context.Context, u *codebuddy.User, sessionID, before string, limit int) ([]*codebuddy.Message, error) {
	if limit < 0 || limit > codebuddy.MaxPageSize {
		return nil, codebuddy.FieldErrorf("limit", "must be between 1 and %d", codebuddy.MaxPageSize)
	}
	if _, _, err := s.Access(ctx, u, sessionID); err != nil {
		return nil, err
	}
	return s.store.Messages(ctx, sessionID, before, limit)
}

// Notifications lists u's notifications, newest first.
func (s *Service) Notifications(ctx context.Context, u *codebuddy.User, before string, limit int, unreadOnly bool) ([]*codebuddy.Notification, error) {
	if limit < 0 || limit > codebuddy.MaxPageSize {
		return nil, codebuddy.FieldErrorf("limit", "must be between 1 and %d", codebuddy.MaxPageSize)
	}
	return s.store.Notifications(ctx, u.ID, before, limit, unreadOnly)
}

// UnreadCount counts u's unread notifications.
func (s *Service) UnreadCount(ctx context.Context, u *codebuddy.User) (int, error) {
	return s.store.UnreadCount(ctx, u.ID)
}

// MarkRead marks one of u's notifications read.
func (s *Service) MarkRead(ctx context.Context, u *codebuddy.User, id string) error {
	return s.store.MarkRead(ctx, u.ID, id)
}

// MarkAllRead marks all of u's notifications read.
func (s *Service) MarkAllRead(ctx context.Context, u *codebuddy.User) (int64, error) {
	return s.store.MarkAllRead(ctx, u.ID)
}

// DeleteNotification deletes one of u's notifications.
func (s *Service) DeleteNotification(ctx context.Context, u *codebuddy.User, id string) error {
	return s.store.DeleteNotification(ctx, u.ID, id)
}
