package config_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/config"
)

func TestDefaults(t *testing.T) {
	c, err := config.Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./data" || c.DatabaseURL != "" || c.BaseURL != "http://localhost:8080" ||
		c.LogLevel != "info" || c.LogFormat != "json" || c.MaxBodyBytes != 8<<20 || c.SessionTTL != 720*time.Hour ||
		c.RateLimitAnonymous != 300 || c.RateLimitUser != 1200 || c.LoginFailures != 5 || c.HashConcurrency != 2 ||
		c.Sandbox != "on" || c.ShutdownTimeout != 15*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Secure() || c.Base.Host != "localhost:8080" || len(c.Origins) != 1 || c.Origins[0] != "http://localhost:8080" || len(c.Proxies) != 0 {
		t.Fatalf("derived: secure=%v base=%v origins=%v proxies=%v", c.Secure(), c.Base, c.Origins, c.Proxies)
	}
}

func TestValues(t *testing.T) {
	c, err := config.Load(map[string]string{
		"CODEBUDDY_ADDR":            "127.0.0.1:9000",
		"CODEBUDDY_DATABASE_URL":    "postgres://u@db:5432/x",
		"CODEBUDDY_REDIS_URL":       "rediss://r:6379/0",
		"CODEBUDDY_BASE_URL":        "https://code.example.org/",
		"CODEBUDDY_ALLOWED_ORIGINS": "https://a.example.org, http://b.example.org:3000/,",
		"CODEBUDDY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1,",
		"CODEBUDDY_LOG_LEVEL":       "DEBUG",
		"CODEBUDDY_LOG_FORMAT":      "text",
		"CODEBUDDY_SESSION_TTL":     "2h",
		"CODEBUDDY_TLS_CERT":        "c.pem",
		"CODEBUDDY_TLS_KEY":         "k.pem",
		"UNRELATED":                 "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Secure() || c.SessionTTL != 2*time.Hour || c.Addr != "127.0.0.1:9000" {
		t.Fatalf("%+v", c)
	}
	want := []string{"https://code.example.org", "https://a.example.org", "http://b.example.org:3000"}
	if strings.Join(c.Origins, " ") != strings.Join(want, " ") {
		t.Fatalf("origins %v, want %v", c.Origins, want)
	}
	wantP := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32")}
	if len(c.Proxies) != 2 || c.Proxies[0] != wantP[0] || c.Proxies[1] != wantP[1] {
		t.Fatalf("proxies %v, want %v", c.Proxies, wantP)
	}
}

// TestEveryInvalidVariableInOneError sets every variable wrong at once: the one
// error must name each of them, so an operator fixes them in one go.
func TestEveryInvalidVariableInOneError(t *testing.T) {
	bad := map[string]string{
		"CODEBUDDY_ADDR":                 "nope",
		"CODEBUDDY_DATA_DIR":             "  ",
		"CODEBUDDY_DATABASE_URL":         "mysql://x",
		"CODEBUDDY_REDIS_URL":            "http://r",
		"CODEBUDDY_BASE_URL":             "code.example.org",
		"CODEBUDDY_ALLOWED_ORIGINS":      "https://ok.example.org,ftp://x,https://a.example.org/path",
		"CODEBUDDY_LOG_LEVEL":            "loud",
		"CODEBUDDY_LOG_FORMAT":           "xml",
		"CODEBUDDY_TLS_CERT":             "only-cert.pem",
		"CODEBUDDY_TRUSTED_PROXIES":      "10.0.0.0/33",
		"CODEBUDDY_SANDBOX":              "maybe",
		"CODEBUDDY_EXEC_SLOTS":           "1000",
		"CODEBUDDY_MAX_BODY_BYTES":       "10",
		"CODEBUDDY_SESSION_TTL":          "1s",
		"CODEBUDDY_SHUTDOWN_TIMEOUT":     "0s",
		"CODEBUDDY_RATE_LIMIT_ANONYMOUS": "0",
		"CODEBUDDY_RATE_LIMIT_USER":      "-5",
		"CODEBUDDY_LOGIN_FAILURES":       "0",
		"CODEBUDDY_WS_CONNS_PER_USER":    "0",
		"CODEBUDDY_HASH_CONCURRENCY":     "65",
	}
	_, err := config.Load(bad)
	if err == nil {
		t.Fatal("no error")
	}
	for name := range bad {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Count(err.Error(), "CODEBUDDY_ALLOWED_ORIGINS:") != 2 {
		t.Errorf("want both bad origins named: %v", err)
	}
}

func TestUnparsableValues(t *testing.T) {
	_, err := config.Load(map[string]string{
		"CODEBUDDY_SESSION_TTL":     "forever",
		"CODEBUDDY_MAX_BODY_BYTES":  "lots",
		"CODEBUDDY_RATE_LIMIT_USER": "1.5",
		"CODEBUDDY_LOG_LEVEL":       "loud",
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"CODEBUDDY_SESSION_TTL", "CODEBUDDY_MAX_BODY_BYTES", "CODEBUDDY_RATE_LIMIT_USER", "CODEBUDDY_LOG_LEVEL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if !strings.HasPrefix(err.Error(), "invalid configuration: ") {
		t.Errorf("error %q", err)
	}
}

func TestFromOS(t *testing.T) {
	t.Setenv("CODEBUDDY_ADDR", "127.0.0.1:1234")
	t.Setenv("CODEBUDDY_LOG_FORMAT", "text")
	c, err := config.FromOS()
	if err != nil || c.Addr != "127.0.0.1:1234" || c.LogFormat != "text" {
		t.Fatalf("FromOS = %+v, %v", c, err)
	}
	t.Setenv("CODEBUDDY_LOG_FORMAT", "yaml")
	if _, err := config.FromOS(); err == nil || !strings.Contains(err.Error(), "CODEBUDDY_LOG_FORMAT") {
		t.Fatalf("FromOS with a bad format: %v", err)
	}
}
