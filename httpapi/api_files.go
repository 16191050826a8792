package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// File is the wire form of a file or folder; Content only comes with GET /api/files/{id}.
type File struct {
	ID        string    `json:"id"`
	SessionID string    `json:"sessionId"`
	ParentID  *string   `json:"parentId"`
	Name      string    `json:"name"`
	Path      string    `json:"path"`
	IsFolder  bool      `json:"isFolder"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
	Content   *string   `json:"content,omitempty"`
}

// WireFile converts a domain file; withContent includes its text.
func WireFile(f *codebuddy.File, withContent bool) File {
	out := File{ID: f.ID, SessionID: f.SessionID, ParentID: f.ParentID, Name: f.Name, Path: f.Path, IsFolder: f.IsFolder,
		Version: f.Version, UpdatedAt: f.UpdatedAt}
	if withContent && !f.IsFolder {
		c := f.Content
		out.Content = &c
	}
	return out
}

// Message is the wire form of a chat message.
type Message struct {
	ID        string    `json:"id"`
	SessionID string    `json:"sessionId"`
	UserID    string    `json:"userId"`
	Username  string    `json:"username"`
	Content   string    `json:"content"`
	CreatedAt time.Time `json:"createdAt"`
}

// WireMessage converts a domain message.
func WireMessage(m *codebuddy.Message) Message {
	return Message{ID: m.ID, SessionID: m.SessionID, UserID: m.UserID, Username: m.Username, Content: m.Content, CreatedAt: m.CreatedAt}
}

// Notification is the wire form of a notification.
type Notification struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	SessionID *string   `json:"sessionId,omitempty"`
	IsRead    bool      `json:"isRead"`
	CreatedAt time.Time `json:"createdAt"`
}

// WireNotification converts a domain notification.
func WireNotification(n *codebuddy.Notification) Notification {
	return Notification{ID: n.ID, Kind: n.Kind, Title: n.Title, Body: n.Body, SessionID: n.SessionID, IsRead: n.IsRead, CreatedAt: n.CreatedAt}
}

// ContentReplacer replaces a file's whole content through the live change log.
type ContentReplacer interface {
	// Current returns f with its latest committed content and version.
	Current(ctx context.Context, f *codebuddy.File) (*codebuddy.File, error)
	ReplaceContent(ctx context.Context, u *codebuddy.User, fileID string, baseVersion int64, content string) (*codebuddy.File, error)
}

type fileOutput struct{ Body File }

type fileCreateBody struct {
	Name     string  `json:"name" minLength:"1" maxLength:"255"`
	ParentID *string `json:"parentId,omitempty" maxLength:"64"`
	// No maxLength: huma counts characters, the limit is bytes; the store answers 413 for
	// both create and replace, naming content.
	Content string `json:"content,omitempty" doc:"at most 1 MiB (1048576 bytes of UTF-8); more is 413"`
}

// filePatchBody keeps parentId raw so that an explicit null (move to the root) differs from absent.
type filePatchBody struct {
	Name        *string         `json:"name,omitempty" minLength:"1" maxLength:"255"`
	ParentID    json.RawMessage `json:"parentId,omitempty" doc:"folder id, or null to move to the root"`
	Content     *string         `json:"content,omitempty" doc:"at most 1 MiB (1048576 bytes of UTF-8); more is 413"`
	BaseVersion *int64          `json:"baseVersion,omitempty" minimum:"0" doc:"required with content; 409 when the file has moved on"`
}

func (s *Server) routeFiles() {
	ws := s.workspace
	tags := []string{"Files"}
	create := func(folder bool) func(ctx context.Context, u *codebuddy.User, in *struct {
		SessionPath
		Body fileCreateBody
	}) (*fileOutput, error) {
		return func(ctx context.Context, u *codebuddy.User, in *struct {
			SessionPath
			Body fileCreateBody
		}) (*fileOutput, error) {
			f, err := ws.CreateFile(ctx, u, in.ID, workspace.FileInput{ParentID: in.Body.ParentID, Name: in.Body.Name, IsFolder: folder, Content: in.Body.Content})
			if err != nil {
				return nil, err
			}
			return &fileOutput{Body: WireFile(f, false)}, nil
		}
	}
	op(s, huma.Operation{OperationID: "list-files", Method: http.MethodGet, Path: "/api/sessions/{id}/files", Tags: tags,
		Summary: "The session's file tree (no contents)", Errors: []int{404}},
		func(ctx context.Context, u *codebuddy.User, in *SessionPath) (*struct {
			Body struct {
				Files []File `json:"files"`
			}
		}, error) {
			list, err := ws.Files(ctx, u, in.ID)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Files []File `json:"files"`
				}
			}{}
			out.Body.Files = make([]File, 0, len(list))
			for _, f := range list {
				out.Body.Files = append(out.Body.Files, WireFile(f, false))
			}
			return out, nil
		})
	// A file may hold 1 MiB, and JSON escaping makes its body larger than huma's
	// default 1 MiB limit; the store enforces the content limit itself.
	op(s, huma.Operation{OperationID: "create-file", Method: http.MethodPost, Path: "/api/sessions/{id}/files", MaxBodyBytes: 3 << 20, Tags: tags,
		Summary: "Create a file (editor)", DefaultStatus: http.StatusCreated, Errors: []int{403, 404, 409, 413, 422}}, create(false))
	op(s, huma.Operation{OperationID: "create-folder", Method: http.MethodPost, Path: "/api/sessions/{id}/folders", Tags: tags,
		Summary: "Create a folder (editor)", DefaultStatus: http.StatusCreated, Errors: []int{403, 404, 409, 422}}, create(true))

	op(s, huma.Operation{OperationID: "get-file", Method: http.MethodGet, Path: "/api/files/{id}", Tags: tags,
		Summary: "A file with its content and version", Errors: []int{404}},
		func(ctx context.Context, u *codebuddy.User, in *IDPath) (*fileOutput, error) {
			f, _, err := ws.File(ctx, u, in.ID)
			if err != nil {
				return nil, err
			}
			if s.content != nil && !f.IsFolder {
				// The live document may be ahead of the stored row; it is the truth.
				live, err := s.content.Current(ctx, f)
				if err != nil {
					return nil, err
				}
				f = live
			}
			return &fileOutput{Body: WireFile(f, true)}, nil
		})

	op(s, huma.Operation{OperationID: "update-file", Method: http.MethodPatch, Path: "/api/files/{id}", MaxBodyBytes: 3 << 20, Tags: tags,
		Summary: "Rename, move, or replace the content (with baseVersion) of a file (editor)", Errors: []int{403, 404, 409, 413, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			IDPath
			Body filePatchBody
		}) (*fileOutput, error) {
			var f *codebuddy.File
			move := len(in.Body.ParentID) > 0
			var parent *string
			if move && string(in.Body.ParentID) != "null" {
				var p string
				if err := json.Unmarshal(in.Body.ParentID, &p); err != nil || p == "" || len(p) > 64 {
					return nil, codebuddy.FieldErrorf("parentId", "must be a folder id or null")
				}
				parent = &p
			}
			if in.Body.Name == nil && !move && in.Body.Content == nil {
				return nil, codebuddy.FieldErrorf("name", "nothing to change: give name, parentId or content")
			}
			// The move and the content change commit separately; together, a failing
			// second step would leave the first applied behind an error.
			if in.Body.Content != nil && (in.Body.Name != nil || move) {
				return nil, codebuddy.FieldErrorf("content", "replace the content on its own, not in the same request as a rename or move")
			}
			if in.Body.Name != nil || move {
				moved, err := ws.MoveFile(ctx, u, in.ID, in.Body.Name, parent, move)
				if err != nil {
					return nil, err
				}
				f = moved
			}
			if in.Body.Content != nil {
				if in.Body.BaseVersion == nil {
					return nil, codebuddy.FieldErrorf("baseVersion", "is required when replacing content")
				}
				if s.content == nil {
					return nil, codebuddy.Errorf(codebuddy.EUNAVAILABLE, "content editing is not available")
				}
				replaced, err := s.content.ReplaceContent(ctx, u, in.ID, *in.Body.BaseVersion, *in.Body.Content)
				if err != nil {
					return nil, err
				}
				f = replaced
			}
			return &fileOutput{Body: WireFile(f, in.Body.Content != nil)}, nil
		})

	op(s, huma.Operation{OperationID: "delete-file", Method: http.MethodDelete, Path: "/api/files/{id}", Tags: tags,
		Summary: "Delete a file, or a folder with everything in it (editor)", DefaultStatus: http.StatusNoContent, Errors: []int{403, 404}},
		func(ctx context.Context, u *codebuddy.User, in *IDPath) (*struct{}, error) {
			return nil, ws.DeleteFile(ctx, u, in.ID)
		})
}

func (s *Server) routeChat() {
	ws := s.workspace
	tags := []string{"Chat"}
	op(s, huma.Operation{OperationID: "list-messages", Method: http.MethodGet, Path: "/api/sessions/{id}/messages", Tags: tags,
		Summary: "Chat history, newest first; page with before=<oldest id seen>", Errors: []int{404, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			SessionPath
			Before string `query:"before" maxLength:"64"`
			Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
		}) (*struct {
			Body struct {
				Messages   []Message `json:"messages"`
				NextBefore string    `json:"nextBefore,omitempty"`
			}
		}, error) {
			list, err := ws.Messages(ctx, u, in.ID, in.Before, in.Limit)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Messages   []Message `json:"messages"`
					NextBefore string    `json:"nextBefore,omitempty"`
				}
			}{}
			out.Body.Messages = make([]Message, 0, len(list))
			for _, m := range list {
				out.Body.Messages = append(out.Body.Messages, WireMessage(m))
			}
			if len(list) == in.Limit {
				out.Body.NextBefore = list[len(list)-1].ID
			}
			return out, nil
		})
	op(s, huma.Operation{OperationID: "post-message", Method: http.MethodPost, Path: "/api/sessions/{id}/messages", Tags: tags,
		Summary: "Post a chat message (plain text, 1–4000 characters)", DefaultStatus: http.StatusCreated, Errors: []int{404, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			SessionPath
			Body struct {
				Content string `json:"content" minLength:"1" maxLength:"4000"`
			}
		}) (*struct{ Body Message }, error) {
			m, err := ws.PostMessage(ctx, u, in.ID, in.Body.Content)
			if err != nil {
				return nil, err
			}
			return &struct{ Body Message }{Body: WireMessage(m)}, nil
		})

	ntags := []string{"Notifications"}
	op(s, huma.Operation{OperationID: "list-notifications", Method: http.MethodGet, Path: "/api/notifications", Tags: ntags,
		Summary: "Your notifications, newest first", Errors: []int{422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			Before string `query:"before" maxLength:"64"`
			Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
			Unread bool   `query:"unread"`
		}) (*struct {
			Body struct {
				Notifications []Notification `json:"notifications"`
			}
		}, error) {
			list, err := ws.Notifications(ctx, u, in.Before, in.Limit, in.Unread)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Notifications []Notification `json:"notifications"`
				}
			}{}
			out.Body.Notifications = make([]Notification, 0, len(list))
			for _, n := range list {
				out.Body.Notifications = append(out.Body.Notifications, WireNotification(n))
			}
			return out, nil
		})
	op(s, huma.Operation{OperationID: "unread-count", Method: http.MethodGet, Path: "/api/notifications/unread-count", Tags: ntags,
		Summary: "How many notifications are unread"},
		func(ctx context.Context, u *codebuddy.User, _ *struct{}) (*struct {
			Body struct {
				Count int `json:"count"`
			}
		}, error) {
			n, err := ws.UnreadCount(ctx, u)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Count int `json:"count"`
				}
			}{}
			out.Body.Count = n
			return out, nil
		})
	op(s, huma.Operation{OperationID: "mark-read", Method: http.MethodPatch, Path: "/api/notifications/{id}/read", Tags: ntags,
		Summary: "Mark one notification read", DefaultStatus: http.StatusNoContent, Errors: []int{404}},
		func(ctx context.Context, u *codebuddy.User, in *IDPath) (*struct{}, error) {
			return nil, ws.MarkRead(ctx, u, in.ID)
		})
	op(s, huma.Operation{OperationID: "mark-all-read", Method: http.MethodPatch, Path: "/api/notifications/read-all", Tags: ntags,
		Summary: "Mark all notifications read", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, u *codebuddy.User, _ *struct{}) (*struct{}, error) {
			_, err := ws.MarkAllRead(ctx, u)
			return nil, err
		})
	op(s, huma.Operation{OperationID: "delete-notification", Method: http.MethodDelete, Path: "/api/notifications/{id}", Tags: ntags,
		Summary: "Delete a notification", DefaultStatus: http.StatusNoContent, Errors: []int{404}},
		func(ctx context.Context, u *codebuddy.User, in *IDPath) (*struct{}, error) {
			return nil, ws.DeleteNotification(ctx, u, in.ID)
		})
}
