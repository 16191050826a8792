package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codebuddy-dev/codebuddy"
	"github.com/codebuddy-dev/codebuddy/workspace"
)

// Session is the wire form of a coding session; Role is the caller's.
type Session struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Language    string    `json:"language"`
	IsPublic    bool      `json:"isPublic"`
	VisitorRole string    `json:"visitorRole" enum:"editor,viewer"`
	OwnerID     string    `json:"ownerId"`
	Role        string    `json:"role,omitempty" enum:"owner,editor,viewer"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

func wireSession(s *codebuddy.Session, role string) Session {
	return Session{ID: s.ID, Name: s.Name, Language: s.Language, IsPublic: s.IsPublic, VisitorRole: s.VisitorRole,
		OwnerID: s.OwnerID, Role: role, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// Participant is the wire form of a participant.
type Participant struct {
	UserID   string    `json:"userId"`
	Username string    `json:"username"`
	Role     string    `json:"role" enum:"owner,editor,viewer"`
	Online   bool      `json:"online"`
	JoinedAt time.Time `json:"joinedAt"`
}

// Invite is the wire form of a share link (its token is shown only at creation).
type Invite struct {
	ID        string     `json:"id"`
	SessionID string     `json:"sessionId"`
	Role      string     `json:"role" enum:"editor,viewer"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	MaxUses   *int       `json:"maxUses,omitempty"`
	Uses      int        `json:"uses"`
	Revoked   bool       `json:"revoked"`
	CreatedAt time.Time  `json:"createdAt"`
}

func wireInvite(i *codebuddy.Invite) Invite {
	return Invite{ID: i.ID, SessionID: i.SessionID, Role: i.Role, ExpiresAt: i.ExpiresAt, MaxUses: i.MaxUses,
		Uses: i.Uses, Revoked: i.RevokedAt != nil, CreatedAt: i.CreatedAt}
}

// AccessRequest is the wire form of an access request.
type AccessRequest struct {
	ID        string     `json:"id"`
	SessionID string     `json:"sessionId"`
	UserID    string     `json:"userId"`
	Username  string     `json:"username"`
	Status    string     `json:"status" enum:"pending,accepted,rejected"`
	Message   string     `json:"message"`
	CreatedAt time.Time  `json:"createdAt"`
	DecidedAt *time.Time `json:"decidedAt,omitempty"`
}

func wireRequest(r *codebuddy.AccessRequest) AccessRequest {
	return AccessRequest{ID: r.ID, SessionID: r.SessionID, UserID: r.UserID, Username: r.Username, Status: r.Status,
		Message: r.Message, CreatedAt: r.CreatedAt, DecidedAt: r.DecidedAt}
}

type SessionPath struct {
	ID string `path:"id" maxLength:"64"`
}

type sessionBody struct {
	Name        *string `json:"name,omitempty" minLength:"1" maxLength:"400"`
	Language    *string `json:"language,omitempty" minLength:"1" maxLength:"32"`
	IsPublic    *bool   `json:"isPublic,omitempty"`
	VisitorRole *string `json:"visitorRole,omitempty" enum:"editor,viewer"`
}

func (b sessionBody) input() workspace.SessionInput {
	return workspace.SessionInput{Name: b.Name, Language: b.Language, IsPublic: b.IsPublic, VisitorRole: b.VisitorRole}
}

type sessionOutput struct{ Body Session }

// op registers a signed-in operation: the handler gets the user, a 401 comes first.
func op[I, O any](s *Server, o huma.Operation, h func(ctx context.Context, u *codebuddy.User, in *I) (*O, error)) {
	o.Security = security
	o.Errors = append([]int{401}, o.Errors...)
	// huma validates parameters and body before the handler runs; checking the
	// caller here first keeps an anonymous request from learning the input rules
	// (422) instead of being told to sign in (401).
	o.Middlewares = append(huma.Middlewares{func(hctx huma.Context, next func(huma.Context)) {
		if _, err := s.requireUser(hctx.Context()); err != nil {
			status, msg := http.StatusUnauthorized, err.Error()
			var se huma.StatusError
			if errors.As(err, &se) {
				status = se.GetStatus()
			}
			_ = huma.WriteErr(s.api, hctx, status, msg)
			return
		}
		next(hctx)
	}}, o.Middlewares...)
	huma.Register(s.api, o, func(ctx context.Context, in *I) (*O, error) {
		u, err := s.requireUser(ctx)
		if err != nil {
			return nil, err
		}
		out, err := h(ctx, u, in)
		if err != nil {
			if _, ok := err.(huma.StatusError); ok {
				return nil, err
			}
			return nil, s.apiError(ctx, err)
		}
		return out, nil
	})
}

func (s *Server) routeSessions() {
	ws := s.workspace
	tags := []string{"Sessions"}
	op(s, huma.Operation{OperationID: "list-sessions", Method: http.MethodGet, Path: "/api/sessions", Tags: tags,
		Summary: "List sessions: mine, shared with me, public, or all visible", Errors: []int{422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			Scope  string `query:"scope" enum:"mine,shared,public,all" default:"all"`
			Q      string `query:"q" maxLength:"100"`
			Limit  int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
			Offset int    `query:"offset" minimum:"0" maximum:"100000"`
		}) (*struct {
			Body struct {
				Sessions   []Session `json:"sessions"`
				NextOffset *int      `json:"nextOffset,omitempty"`
			}
		}, error) {
			list, err := ws.ListSessions(ctx, u, codebuddy.SessionFilter{Scope: in.Scope, Query: in.Q, Limit: in.Limit + 1, Offset: in.Offset})
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Sessions   []Session `json:"sessions"`
					NextOffset *int      `json:"nextOffset,omitempty"`
				}
			}{}
			if len(list) > in.Limit {
				list = list[:in.Limit]
				next := in.Offset + in.Limit
				out.Body.NextOffset = &next
			}
			roles, err := ws.Roles(ctx, u, list)
			if err != nil {
				return nil, err
			}
			out.Body.Sessions = make([]Session, 0, len(list))
			for _, sess := range list {
				out.Body.Sessions = append(out.Body.Sessions, wireSession(sess, roles[sess.ID]))
			}
			return out, nil
		})

	op(s, huma.Operation{OperationID: "create-session", Method: http.MethodPost, Path: "/api/sessions", Tags: tags,
		Summary: "Create a session (it starts with its language's starter file)", DefaultStatus: http.StatusCreated, Errors: []int{422}},
		func(ctx context.Context, u *codebuddy.User, in *struct{ Body sessionBody }) (*sessionOutput, error) {
			sess, err := ws.CreateSession(ctx, u, in.Body.input())
			if err != nil {
				return nil, err
			}
			return &sessionOutput{Body: wireSession(sess, codebuddy.RoleOwner)}, nil
		})

	op(s, huma.Operation{OperationID: "get-session", Method: http.MethodGet, Path: "/api/sessions/{id}", Tags: tags,
		Summary: "A session and your role in it", Errors: []int{404}},
		func(ctx context.Context, u *codebuddy.User, in *SessionPath) (*sessionOutput, error) {
			sess, role, err := ws.Access(ctx, u, in.ID)
			if err != nil {
				return nil, err
			}
			return &sessionOutput{Body: wireSession(sess, role)}, nil
		})

	op(s, huma.Operation{OperationID: "update-session", Method: http.MethodPatch, Path: "/api/sessions/{id}", Tags: tags,
		Summary: "Rename, change language or visibility (owner)", Errors: []int{403, 404, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			SessionPath
			Body sessionBody
		}) (*sessionOutput, error) {
			sess, err := ws.UpdateSession(ctx, u, in.ID, in.Body.input())
			if err != nil {
				return nil, err
			}
			return &sessionOutput{Body: wireSession(sess, codebuddy.RoleOwner)}, nil
		})

	op(s, huma.Operation{OperationID: "delete-session", Method: http.MethodDelete, Path: "/api/sessions/{id}", Tags: tags,
		Summary: "Delete a session and everything in it (owner)", DefaultStatus: http.StatusNoContent, Errors: []int{403, 404}},
		func(ctx context.Context, u *codebuddy.User, in *SessionPath) (*struct{}, error) {
			return nil, ws.DeleteSession(ctx, u, in.ID)
		})

	op(s, huma.Operation{OperationID: "list-participants", Method: http.MethodGet, Path: "/api/sessions/{id}/participants", Tags: tags,
		Summary: "Who has access, with role and online state", Errors: []int{404}},
		func(ctx context.Context, u *codebuddy.User, in *SessionPath) (*struct {
			Body struct {
				Participants []Participant `json:"participants"`
			}
		}, error) {
			ps, err := ws.Participants(ctx, u, in.ID)
			if err != nil {
				return nil, err
			}
			var online map[string]bool
			if s.online != nil {
				online = s.online(in.ID)
			}
			out := &struct {
				Body struct {
					Participants []Participant `json:"participants"`
				}
			}{}
			out.Body.Participants = make([]Participant, 0, len(ps))
			for _, p := range ps {
				out.Body.Participants = append(out.Body.Participants, Participant{UserID: p.UserID, Username: p.Username,
					Role: p.Role, Online: online[p.UserID], JoinedAt: p.JoinedAt})
			}
			return out, nil
		})

	type ParticipantPath struct {
		ID     string `path:"id" maxLength:"64"`
		UserID string `path:"userId" maxLength:"64"`
	}
	op(s, huma.Operation{OperationID: "set-participant-role", Method: http.MethodPatch, Path: "/api/sessions/{id}/participants/{userId}", Tags: tags,
		Summary: "Change a participant's role (owner)", DefaultStatus: http.StatusNoContent, Errors: []int{403, 404, 409, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			ParticipantPath
			Body struct {
				Role string `json:"role" enum:"editor,viewer"`
			}
		}) (*struct{}, error) {
			return nil, ws.SetRole(ctx, u, in.ID, in.UserID, in.Body.Role)
		})
	op(s, huma.Operation{OperationID: "remove-participant", Method: http.MethodDelete, Path: "/api/sessions/{id}/participants/{userId}", Tags: tags,
		Summary: "Remove a participant (owner), or leave (yourself)", DefaultStatus: http.StatusNoContent, Errors: []int{403, 404, 409}},
		func(ctx context.Context, u *codebuddy.User, in *ParticipantPath) (*struct{}, error) {
			return nil, ws.RemoveParticipant(ctx, u, in.ID, in.UserID)
		})

	s.routeInvites()
	s.routeFiles()
	s.routeChat()
}

func (s *Server) routeInvites() {
	ws := s.workspace
	tags := []string{"Sharing"}
	type inviteOut struct {
		Body struct {
			Invite Invite `json:"invite"`
			Token  string `json:"token" doc:"Shown once"`
			URL    string `json:"url" doc:"The share link to send"`
		}
	}
	op(s, huma.Operation{OperationID: "create-invite", Method: http.MethodPost, Path: "/api/sessions/{id}/invites", Tags: tags,
		Summary: "Create a share link with a role (owner)", DefaultStatus: http.StatusCreated, Errors: []int{403, 404, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			SessionPath
			Body struct {
				Role           string `json:"role" enum:"editor,viewer"`
				ExpiresInHours int    `json:"expiresInHours,omitempty" minimum:"0" maximum:"2160" doc:"0 or absent: never"`
				MaxUses        *int   `json:"maxUses,omitempty" minimum:"1" maximum:"1000"`
			}
		}) (*inviteOut, error) {
			inv, token, err := ws.CreateInvite(ctx, u, in.ID, in.Body.Role, time.Duration(in.Body.ExpiresInHours)*time.Hour, in.Body.MaxUses)
			if err != nil {
				return nil, err
			}
			out := &inviteOut{}
			out.Body.Invite, out.Body.Token = wireInvite(inv), token
			out.Body.URL = s.cfg.BaseURL + "/invite/" + token
			return out, nil
		})
	op(s, huma.Operation{OperationID: "list-invites", Method: http.MethodGet, Path: "/api/sessions/{id}/invites", Tags: tags,
		Summary: "List share links (owner)", Errors: []int{403, 404}},
		func(ctx context.Context, u *codebuddy.User, in *SessionPath) (*struct {
			Body struct {
				Invites []Invite `json:"invites"`
			}
		}, error) {
			list, err := ws.Invites(ctx, u, in.ID)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Invites []Invite `json:"invites"`
				}
			}{}
			out.Body.Invites = make([]Invite, 0, len(list))
			for _, i := range list {
				out.Body.Invites = append(out.Body.Invites, wireInvite(i))
			}
			return out, nil
		})
	op(s, huma.Operation{OperationID: "revoke-invite", Method: http.MethodDelete, Path: "/api/sessions/{id}/invites/{inviteId}", Tags: tags,
		Summary: "Revoke a share link (owner)", DefaultStatus: http.StatusNoContent, Errors: []int{403, 404}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			ID       string `path:"id" maxLength:"64"`
			InviteID string `path:"inviteId" maxLength:"64"`
		}) (*struct{}, error) {
			return nil, ws.RevokeInvite(ctx, u, in.ID, in.InviteID)
		})
	op(s, huma.Operation{OperationID: "accept-invite", Method: http.MethodPost, Path: "/api/invites/{token}/accept", Tags: tags,
		Summary: "Join a session through a share link", Errors: []int{404}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			Token string `path:"token" maxLength:"128"`
		}) (*struct {
			Body struct {
				Session Session `json:"session"`
				Role    string  `json:"role"`
			}
		}, error) {
			sess, role, err := ws.AcceptInvite(ctx, u, in.Token)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Session Session `json:"session"`
					Role    string  `json:"role"`
				}
			}{}
			out.Body.Session, out.Body.Role = wireSession(sess, role), role
			return out, nil
		})

	rtags := []string{"Access requests"}
	type requestOut struct{ Body AccessRequest }
	op(s, huma.Operation{OperationID: "request-access", Method: http.MethodPost, Path: "/api/sessions/{id}/requests", Tags: rtags,
		Summary: "Ask the owner for edit access", DefaultStatus: http.StatusCreated, Errors: []int{404, 409, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			SessionPath
			// Optional (a pointer): asking without a message needs no body at all.
			Body *struct {
				Message string `json:"message,omitempty" maxLength:"2000"`
			}
		}) (*requestOut, error) {
			message := ""
			if in.Body != nil {
				message = in.Body.Message
			}
			r, err := ws.RequestAccess(ctx, u, in.ID, message)
			if err != nil {
				return nil, err
			}
			return &requestOut{Body: wireRequest(r)}, nil
		})
	op(s, huma.Operation{OperationID: "list-requests", Method: http.MethodGet, Path: "/api/sessions/{id}/requests", Tags: rtags,
		Summary: "Access requests of a session (owner)", Errors: []int{403, 404, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			SessionPath
			Status string `query:"status" enum:"pending,accepted,rejected,all" default:"pending"`
		}) (*struct {
			Body struct {
				Requests []AccessRequest `json:"requests"`
			}
		}, error) {
			status := in.Status
			if status == "all" {
				status = ""
			}
			list, err := ws.AccessRequests(ctx, u, in.ID, status)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Body struct {
					Requests []AccessRequest `json:"requests"`
				}
			}{}
			out.Body.Requests = make([]AccessRequest, 0, len(list))
			for _, r := range list {
				out.Body.Requests = append(out.Body.Requests, wireRequest(r))
			}
			return out, nil
		})
	op(s, huma.Operation{OperationID: "decide-request", Method: http.MethodPatch, Path: "/api/requests/{id}", Tags: rtags,
		Summary: "Accept (grants editor) or reject an access request (owner)", Errors: []int{403, 404, 409, 422}},
		func(ctx context.Context, u *codebuddy.User, in *struct {
			ID   string `path:"id" maxLength:"64"`
			Body struct {
				Status string `json:"status" enum:"accepted,rejected"`
			}
		}) (*requestOut, error) {
			r, err := ws.DecideAccessRequest(ctx, u, in.ID, in.Body.Status)
			if err != nil {
				return nil, err
			}
			return &requestOut{Body: wireRequest(r)}, nil
		})
}
