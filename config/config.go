// Package config reads CodeBuddy's CODEBUDDY_* environment variables once into a
// typed struct and validates them, naming every bad variable in one error.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the whole configuration.
type Config struct {
	Addr           string   `env:"ADDR" envDefault:":8080"`
	DataDir        string   `env:"DATA_DIR" envDefault:"./data"`
	DatabaseURL    string   `env:"DATABASE_URL"`
	RedisURL       string   `env:"REDIS_URL"`
	BaseURL        string   `env:"BASE_URL" envDefault:"http://localhost:8080"`
	AllowedOrigins []string `env:"ALLOWED_ORIGINS"`
	LogLevel       string   `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat      string   `env:"LOG_FORMAT" envDefault:"json"`
	TLSCert        string   `env:"TLS_CERT"`
	TLSKey         string   `env:"TLS_KEY"`
	// TrustedProxies lists the CIDRs whose X-Forwarded-For is believed; empty means
	// the client address is the TCP peer.
	TrustedProxies []string `env:"TRUSTED_PROXIES"`

	MaxBodyBytes    int64         `env:"MAX_BODY_BYTES" envDefault:"8388608"`
	SessionTTL      time.Duration `env:"SESSION_TTL" envDefault:"720h"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`

	// Requests per minute for anonymous clients (per IP) and signed-in users (per user).
	RateLimitAnonymous int `env:"RATE_LIMIT_ANONYMOUS" envDefault:"300"`
	RateLimitUser      int `env:"RATE_LIMIT_USER" envDefault:"1200"`
	// WSConnsPerUser bounds one account's open real-time connections per node.
	WSConnsPerUser int `env:"WS_CONNS_PER_USER" envDefault:"32"`
	// Failed logins per IP and username per hour.
	LoginFailures int `env:"LOGIN_FAILURES" envDefault:"5"`

	// HashConcurrency bounds parallel argon2id hashes (64 MiB each).
	HashConcurrency int `env:"HASH_CONCURRENCY" envDefault:"2"`

	// Sandbox is on (isolated execution), off (execution unavailable) or
	// unisolated (DEVELOPMENT ONLY: user code runs as plain processes).
	Sandbox string `env:"SANDBOX" envDefault:"on"`
	// ExecSlots is how many runs execute at once (default: the number of CPUs).
	ExecSlots int `env:"EXEC_SLOTS" envDefault:"0"`
	// GoCacheDir holds the Go build cache shared read-only with Go runs.
	GoCacheDir string `env:"GO_CACHE_DIR" envDefault:"/var/cache/codebuddy/gocache"`

	SentryDSN    string `env:"SENTRY_DSN"`
	OTLPEndpoint string `env:"OTLP_ENDPOINT"`
	Environment  string `env:"ENVIRONMENT" envDefault:"production"`

	// Parsed forms, filled by Load.
	Base    *url.URL       `env:"-"`
	Proxies []netip.Prefix `env:"-"`
	Origins []string       `env:"-"`
}

// Prefix is the common prefix of every variable.
const Prefix = "CODEBUDDY_"

// FromOS reads the process environment.
func FromOS() (*Config, error) { return Load(environ()) }

func environ() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// Load parses and validates vars (a whole environment).
func Load(vars map[string]string) (*Config, error) {
	var c Config
	var problems []string
	if err := env.ParseWithOptions(&c, env.Options{Prefix: Prefix, Environment: vars}); err != nil {
		var agg env.AggregateError
		if errors.As(err, &agg) {
			for _, e := range agg.Errors {
				problems = append(problems, describeEnvError(e))
			}
		} else {
			problems = append(problems, err.Error())
		}
	}
	problems = append(problems, c.validate()...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid configuration: %s", strings.Join(problems, "; "))
	}
	return &c, nil
}

func describeEnvError(e error) string {
	var pe env.ParseError
	if errors.As(e, &pe) {
		return fmt.Sprintf("%s%s: cannot parse as %s", Prefix, strings.TrimPrefix(pe.Name, Prefix), pe.Type)
	}
	return e.Error()
}

func (c *Config) validate() []string {
	var p []string
	bad := func(name, format string, args ...any) {
		p = append(p, Prefix+name+": "+fmt.Sprintf(format, args...))
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("ADDR", "want host:port or :port, got %q", c.Addr)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("DATABASE_URL", "want postgres://user@host:port/db (or unset for SQLite)")
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("REDIS_URL", "want redis://host:port/db")
		}
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		bad("BASE_URL", "want an absolute http(s) URL such as https://code.example.org, got %q", c.BaseURL)
	} else {
		c.Base = base
		c.Origins = append(c.Origins, base.Scheme+"://"+base.Host)
	}
	for _, o := range c.AllowedOrigins {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("ALLOWED_ORIGINS", "want origins like https://app.example.org, got %q", o)
			continue
		}
		c.Origins = append(c.Origins, u.Scheme+"://"+u.Host)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	switch strings.ToLower(c.LogFormat) {
	case "json", "text":
	default:
		bad("LOG_FORMAT", "want json or text, got %q", c.LogFormat)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("TLS_CERT", "TLS_CERT and TLS_KEY must be set together")
	}
	for _, cidr := range c.TrustedProxies {
		cidr = strings.TrimSpace(cidr)
		if cidr == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(cidr)
		if err != nil {
			addr, err2 := netip.ParseAddr(cidr)
			if err2 != nil {
				bad("TRUSTED_PROXIES", "want CIDRs like 10.0.0.0/8, got %q", cidr)
				continue
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.Proxies = append(c.Proxies, pfx)
	}
	switch c.Sandbox {
	case "on", "off", "unisolated":
	default:
		bad("SANDBOX", "want on, off or unisolated, got %q", c.Sandbox)
	}
	if c.ExecSlots < 0 || c.ExecSlots > 256 {
		bad("EXEC_SLOTS", "want 0 (one per CPU) to 256")
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		bad("MAX_BODY_BYTES", "want 1024 to 67108864")
	}
	if c.SessionTTL < time.Minute {
		bad("SESSION_TTL", "want at least 1m")
	}
	if c.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "want a positive duration")
	}
	if c.RateLimitAnonymous < 1 {
		bad("RATE_LIMIT_ANONYMOUS", "want at least 1")
	}
	if c.RateLimitUser < 1 {
		bad("RATE_LIMIT_USER", "want at least 1")
	}
	if c.WSConnsPerUser < 1 || c.WSConnsPerUser > 100_000 {
		bad("WS_CONNS_PER_USER", "want 1 to 100000")
	}
	if c.LoginFailures < 1 {
		bad("LOGIN_FAILURES", "want at least 1")
	}
	if c.HashConcurrency < 1 || c.HashConcurrency > 64 {
		bad("HASH_CONCURRENCY", "want 1 to 64")
	}
	return p
}

// Secure reports whether cookies must carry the Secure flag.
func (c *Config) Secure() bool { return c.Base != nil && c.Base.Scheme == "https" }
