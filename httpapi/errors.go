package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/codebuddy-dev/codebuddy"
)

// statusOf is the one table from domain error codes to HTTP statuses.
var statusOf = map[string]int{
	codebuddy.EINVALID:      http.StatusUnprocessableEntity,
	codebuddy.ENOTFOUND:     http.StatusNotFound,
	codebuddy.ECONFLICT:     http.StatusConflict,
	codebuddy.EUNAUTHORIZED: http.StatusUnauthorized,
	codebuddy.EFORBIDDEN:    http.StatusForbidden,
	codebuddy.ERATELIMITED:  http.StatusTooManyRequests,
	codebuddy.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	codebuddy.EUNAVAILABLE:  http.StatusServiceUnavailable,
	codebuddy.EINTERNAL:     http.StatusInternalServerError,
}

// StatusOf maps a domain error code to its HTTP status.
func StatusOf(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// apiError turns a domain error into huma's RFC 9457 error. Internal errors are
// logged with the request ID and answered with a plain message carrying that ID.
// APIError maps a domain error to its problem response (exported for other packages' routes).
func (s *Server) APIError(ctx context.Context, err error) error { return s.apiError(ctx, err) }

func (s *Server) apiError(ctx context.Context, err error) error {
	code := codebuddy.ErrorCode(err)
	status := StatusOf(code)
	if status == http.StatusInternalServerError {
		id := requestID(ctx)
		s.log.ErrorContext(ctx, "internal error", "request_id", id, "err", err)
		return huma.NewError(status, "internal error (request "+id+")")
	}
	msg := codebuddy.ErrorMessage(err)
	var details []error
	if f := codebuddy.ErrorField(err); f != "" {
		details = append(details, &huma.ErrorDetail{Location: "body." + f, Message: msg})
		msg = f + ": " + msg
	}
	he := huma.NewError(status, msg, details...)
	var de *codebuddy.Error
	if errors.As(err, &de) && de.RetryAfterSeconds > 0 {
		return huma.ErrorWithHeaders(he, http.Header{"Retry-After": {strconv.Itoa(de.RetryAfterSeconds)}})
	}
	return he
}

// writeProblem answers outside huma (middleware, plain handlers) in the same format.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := map[string]any{"status": status, "title": http.StatusText(status), "detail": detail}
	if r != nil {
		if id := requestID(r.Context()); id != "" {
			body["requestId"] = id
		}
	}
	_ = json.NewEncoder(w).Encode(body)
}

func logger(ctx context.Context, base *slog.Logger) *slog.Logger {
	return base.With("request_id", requestID(ctx))
}
