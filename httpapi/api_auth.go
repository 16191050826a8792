package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codebuddy-dev/codebuddy"
)

// User is the wire form of an account.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Email     string    `json:"email,omitempty"`
	Theme     string    `json:"theme" enum:"system,light,dark"`
	CreatedAt time.Time `json:"createdAt"`
}

func wireUser(u *codebuddy.User) User {
	return User{ID: u.ID, Username: u.Username, Email: u.Email, Theme: u.Theme, CreatedAt: u.CreatedAt}
}

type userOutput struct {
	SetCookie []http.Cookie `header:"Set-Cookie"`
	Body      User
}

type registerInput struct {
	Body struct {
		Username string `json:"username" minLength:"3" maxLength:"32" pattern:"^[A-Za-z0-9_.-]+$" patternDescription:"letters, digits, '_', '.' and '-'" doc:"3–32 of A–Z a–z 0–9 _ . -"`
		Password string `json:"password" minLength:"8" maxLength:"256" doc:"8–256 characters"`
		Email    string `json:"email,omitempty" maxLength:"254"`
	}
}

type loginInput struct {
	Body struct {
		Username string `json:"username" minLength:"1" maxLength:"256"`
		Password string `json:"password" minLength:"1" maxLength:"1024"`
	}
}

type updateUserInput struct {
	Body struct {
		Email *string `json:"email,omitempty" maxLength:"254"`
		Theme *string `json:"theme,omitempty" enum:"system,light,dark"`
	}
}

// APIToken is the wire form of a personal API token (never its secret).
type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
}

func wireToken(t *codebuddy.Token) APIToken {
	return APIToken{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
}

type createTokenInput struct {
	Body struct {
		Name          string `json:"name" minLength:"1" maxLength:"100"`
		ExpiresInDays int    `json:"expiresInDays,omitempty" minimum:"0" maximum:"366" doc:"0 or absent: never expires"`
	}
}

type createTokenOutput struct {
	Body struct {
		Token  APIToken `json:"token"`
		Secret string   `json:"secret" doc:"Shown once; send it as Authorization: Bearer <secret>"`
	}
}

type tokensOutput struct {
	Body struct {
		Tokens []APIToken `json:"tokens"`
	}
}

type IDPath struct {
	ID string `path:"id" maxLength:"64"`
}

var security = []map[string][]string{{"cookie": {}}, {"bearer": {}}}

// requireUser returns the signed-in user or a 401 saying why there is none.
func (s *Server) requireUser(ctx context.Context) (*codebuddy.User, error) {
	ri := info(ctx)
	if ri != nil && ri.user != nil {
		return ri.user, nil
	}
	if ri != nil && ri.authErr != nil {
		return nil, huma.Error401Unauthorized(codebuddy.ErrorMessage(ri.authErr))
	}
	return nil, huma.Error401Unauthorized("sign in first")
}

func (s *Server) sessionCookie(secret string, maxAge int) http.Cookie {
	return http.Cookie{Name: SessionCookie, Value: secret, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode}
}

func (s *Server) routeAuth() {
	tags := []string{"Accounts"}
	huma.Register(s.api, huma.Operation{OperationID: "register", Method: http.MethodPost, Path: "/api/register",
		Summary: "Create an account and sign in", Tags: tags, DefaultStatus: http.StatusCreated,
		Errors: []int{409, 422, 429}},
		func(ctx context.Context, in *registerInput) (*userOutput, error) {
			ri := info(ctx)
			if ok, retry, err := s.registerLimit.Allow("reg:" + ri.clientIP); err == nil && !ok {
				return nil, s.apiError(ctx, &codebuddy.Error{Code: codebuddy.ERATELIMITED,
					Message: "too many new accounts from this address, try again later", RetryAfterSeconds: int(retry / time.Second)})
			}
			u, secret, err := s.auth.Register(ctx, in.Body.Username, in.Body.Password, in.Body.Email)
			if err != nil {
				return nil, s.apiError(ctx, err)
			}
			ri.user = u
			return &userOutput{SetCookie: []http.Cookie{s.sessionCookie(secret, int(s.auth.SessionTTL()/time.Second))}, Body: wireUser(u)}, nil
		})

	huma.Register(s.api, huma.Operation{OperationID: "login", Method: http.MethodPost, Path: "/api/login",
		Summary: "Sign in with a password", Tags: tags, Errors: []int{401, 422, 429}},
		func(ctx context.Context, in *loginInput) (*userOutput, error) {
			u, secret, err := s.auth.Login(ctx, info(ctx).clientIP, in.Body.Username, in.Body.Password)
			if err != nil {
				return nil, s.apiError(ctx, err)
			}
			info(ctx).user = u
			return &userOutput{SetCookie: []http.Cookie{s.sessionCookie(secret, int(s.auth.SessionTTL()/time.Second))}, Body: wireUser(u)}, nil
		})

	huma.Register(s.api, huma.Operation{OperationID: "logout", Method: http.MethodPost, Path: "/api/logout",
		Summary: "Sign out (revokes the login token)", Tags: tags, DefaultStatus: http.StatusNoContent, Security: security},
		func(ctx context.Context, _ *struct{}) (*struct {
			SetCookie []http.Cookie `header:"Set-Cookie"`
		}, error) {
			ri := info(ctx)
			if ri.token != nil && ri.token.Kind == codebuddy.TokenSession {
				if err := s.auth.RevokeAPIToken(ctx, ri.token.UserID, ri.token.ID); err != nil && codebuddy.ErrorCode(err) != codebuddy.ENOTFOUND {
					return nil, s.apiError(ctx, err)
				}
			}
			return &struct {
				SetCookie []http.Cookie `header:"Set-Cookie"`
			}{SetCookie: []http.Cookie{s.sessionCookie("", -1)}}, nil
		})

	huma.Register(s.api, huma.Operation{OperationID: "get-user", Method: http.MethodGet, Path: "/api/user",
		Summary: "The signed-in user", Tags: tags, Security: security, Errors: []int{401}},
		func(ctx context.Context, _ *struct{}) (*userOutput, error) {
			u, err := s.requireUser(ctx)
			if err != nil {
				return nil, err
			}
			return &userOutput{Body: wireUser(u)}, nil
		})

	huma.Register(s.api, huma.Operation{OperationID: "update-user", Method: http.MethodPatch, Path: "/api/user",
		Summary: "Change the signed-in user's email or theme", Tags: tags, Security: security, Errors: []int{401, 422}},
		func(ctx context.Context, in *updateUserInput) (*userOutput, error) {
			u, err := s.requireUser(ctx)
			if err != nil {
				return nil, err
			}
			next := *u
			if in.Body.Email != nil {
				next.Email = *in.Body.Email
			}
			if in.Body.Theme != nil {
				next.Theme = *in.Body.Theme
			}
			if err := s.users.UpdateUser(ctx, &next); err != nil {
				return nil, s.apiError(ctx, err)
			}
			return &userOutput{Body: wireUser(&next)}, nil
		})

	tokTags := []string{"API tokens"}
	huma.Register(s.api, huma.Operation{OperationID: "list-tokens", Method: http.MethodGet, Path: "/api/tokens",
		Summary: "List personal API tokens", Tags: tokTags, Security: security, Errors: []int{401}},
		func(ctx context.Context, _ *struct{}) (*tokensOutput, error) {
			u, err := s.requireUser(ctx)
			if err != nil {
				return nil, err
			}
			toks, err := s.auth.APITokens(ctx, u.ID)
			if err != nil {
				return nil, s.apiError(ctx, err)
			}
			out := &tokensOutput{}
			out.Body.Tokens = make([]APIToken, 0, len(toks))
			for _, t := range toks {
				out.Body.Tokens = append(out.Body.Tokens, wireToken(t))
			}
			return out, nil
		})

	huma.Register(s.api, huma.Operation{OperationID: "create-token", Method: http.MethodPost, Path: "/api/tokens",
		Summary: "Create a personal API token", Tags: tokTags, Security: security, DefaultStatus: http.StatusCreated,
		Errors: []int{401, 409, 422}},
		func(ctx context.Context, in *createTokenInput) (*createTokenOutput, error) {
			u, err := s.requireUser(ctx)
			if err != nil {
				return nil, err
			}
			tok, secret, err := s.auth.CreateAPIToken(ctx, u.ID, in.Body.Name, time.Duration(in.Body.ExpiresInDays)*24*time.Hour)
			if err != nil {
				return nil, s.apiError(ctx, err)
			}
			out := &createTokenOutput{}
			out.Body.Token, out.Body.Secret = wireToken(tok), secret
			return out, nil
		})

	huma.Register(s.api, huma.Operation{OperationID: "delete-token", Method: http.MethodDelete, Path: "/api/tokens/{id}",
		Summary: "Revoke a personal API token", Tags: tokTags, Security: security, DefaultStatus: http.StatusNoContent,
		Errors: []int{401, 404}},
		func(ctx context.Context, in *IDPath) (*struct{}, error) {
			u, err := s.requireUser(ctx)
			if err != nil {
				return nil, err
			}
			if err := s.auth.RevokeAPIToken(ctx, u.ID, in.ID); err != nil {
				return nil, s.apiError(ctx, err)
			}
			return nil, nil
		})
}
