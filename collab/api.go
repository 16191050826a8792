package collab

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codebuddy-dev/codebuddy"
)

// Register adds the replay endpoints (history and content at a version) to api.
// apiError maps domain errors to problem responses.
func (h *Hub) Register(api huma.API, apiError func(context.Context, error) error) {
	sec := []map[string][]string{{"cookie": {}}, {"bearer": {}}}
	tags := []string{"Replay"}
	user := func(ctx context.Context) (*codebuddy.User, error) {
		if u := h.userFrom(ctx); u != nil {
			return u, nil
		}
		return nil, huma.Error401Unauthorized("sign in first")
	}
	huma.Register(api, huma.Operation{OperationID: "file-history", Method: http.MethodGet, Path: "/api/files/{id}/history",
		Summary: "A file's updates with version, author and time (for replay)", Tags: tags, Security: sec, Errors: []int{401, 404, 422}},
		func(ctx context.Context, in *struct {
			ID   string `path:"id" maxLength:"64"`
			From int64  `query:"from" minimum:"0" doc:"updates after this version"`
			To   int64  `query:"to" minimum:"-1" default:"-1" doc:"up to this version (-1: the newest; at most 1000 per page)"`
		}) (*struct {
			Body struct {
				Updates []HistoryEntry `json:"updates"`
			}
		}, error) {
			u, err := user(ctx)
			if err != nil {
				return nil, err
			}
			list, err := h.History(ctx, u, in.ID, in.From, in.To)
			if err != nil {
				return nil, apiError(ctx, err)
			}
			out := &struct {
				Body struct {
					Updates []HistoryEntry `json:"updates"`
				}
			}{}
			out.Body.Updates = list
			return out, nil
		})
	huma.Register(api, huma.Operation{OperationID: "file-content-at", Method: http.MethodGet, Path: "/api/files/{id}/content",
		Summary: "A file's content at a version or a time", Tags: tags, Security: sec, Errors: []int{401, 404, 422}},
		func(ctx context.Context, in *struct {
			ID      string `path:"id" maxLength:"64"`
			Version int64  `query:"version" minimum:"-1" default:"-1"`
			At      string `query:"at" doc:"RFC 3339 time; the version current then"`
		}) (*struct {
			Body struct {
				Version int64  `json:"version"`
				Content string `json:"content"`
			}
		}, error) {
			u, err := user(ctx)
			if err != nil {
				return nil, err
			}
			var at *time.Time
			if in.At != "" {
				t, err := time.Parse(time.RFC3339Nano, in.At)
				if err != nil {
					return nil, apiError(ctx, codebuddy.FieldErrorf("at", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"))
				}
				at = &t
			} else if in.Version < 0 {
				return nil, apiError(ctx, codebuddy.FieldErrorf("version", "give version or at"))
			}
			v, content, err := h.ContentAt(ctx, u, in.ID, in.Version, at)
			if err != nil {
				return nil, apiError(ctx, err)
			}
			out := &struct {
				Body struct {
					Version int64  `json:"version"`
					Content string `json:"content"`
				}
			}{}
			out.Body.Version, out.Body.Content = v, content
			return out, nil
		})
}
