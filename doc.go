// Package codebuddy holds CodeBuddy's domain: entities and their validation, the
// service interfaces the outer packages implement, and the error type every layer
// speaks. It imports nothing that does I/O; sqlstore, httpapi, broker, sandbox and
// runner depend on it, never the other way round.
package codebuddy
