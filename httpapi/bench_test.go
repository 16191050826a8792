package httpapi_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/internal/testserver"
	"github.com/codebuddy-dev/codebuddy/sqlstore"
)

// BenchmarkUserEndpoint measures authenticated GET /api/user under 200 concurrent
// clients against the real server on SQLite, with GET /healthz under the same load
// as the baseline of the same run (compare the two, not absolute figures: the load
// generator shares the machine). The credential is a bearer API token or the login
// cookie, so argon2 is not in the path. Run:
//
//	go test -run '^$' -bench BenchmarkUserEndpoint -benchtime 20000x ./httpapi
//
// Two shapes of load, each with its baseline:
//   - saturate-*: 200 clients in a closed loop, each sending its next request as soon
//     as the previous answer arrives. This finds the throughput ceiling; latency is
//     then just queueing (Little's law: 200 / throughput), so compare req/s.
//   - paced-*: 200 clients each sending every 100 ms (2000 req/s in all, about a third
//     of the ceiling), latency counted from the scheduled send time so a stalled
//     server is not hidden (no coordinated omission). This is the p99 the issue's
//     "p99 below 5 ms under 200 clients" target is about.
//
// Reported per sub-benchmark: p50/p95/p99 latency in ms and requests per second.
func BenchmarkUserEndpoint(b *testing.B) {
	env := newAPIEnv(b, sqlstore.SQLite,
		withEnv("CODEBUDDY_RATE_LIMIT_ANONYMOUS", "1000000000"), withEnv("CODEBUDDY_RATE_LIMIT_USER", "1000000000"))
	alice := env.Register("alice")
	secret := alice.APIToken("bench", 0)
	cookie := &http.Cookie{Name: "codebuddy_session", Value: alice.Cookie()}
	healthz := func(*http.Request) {}
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }
	viaCookie := func(r *http.Request) { r.AddCookie(cookie) }
	for _, bc := range []struct {
		name, path string
		set        func(*http.Request)
		every      time.Duration
	}{
		{"saturate-baseline-healthz", "/healthz", healthz, 0},
		{"saturate-user-bearer", "/api/user", bearer, 0},
		{"saturate-user-cookie", "/api/user", viaCookie, 0},
		{"paced-baseline-healthz", "/healthz", healthz, 100 * time.Millisecond},
		{"paced-user-bearer", "/api/user", bearer, 100 * time.Millisecond},
		{"paced-user-cookie", "/api/user", viaCookie, 100 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) { load(b, env.URL+bc.path, bc.set, 200, bc.every) })
	}
}

// load spreads b.N GET requests over clients goroutines, each on its own keep-alive
// connection, and reports latency percentiles and throughput. With every > 0 each
// client sends on a fixed schedule (phases spread over the interval) instead of back
// to back, and latency runs from the scheduled time.
func load(b *testing.B, url string, set func(*http.Request), clients int, every time.Duration) {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	lat := make([][]time.Duration, clients)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			set(req)
			due := start.Add(every * time.Duration(i) / time.Duration(clients))
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if every > 0 {
					time.Sleep(time.Until(due))
					t0 = due
					due = due.Add(every)
				}
				res, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed", n, b.N)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(float64(len(all))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
}

// BenchmarkUserEndpointProcess is BenchmarkUserEndpoint with the server in a
// process of its own: the real codebuddy binary (built by internal/testserver,
// SQLite in a temporary data dir, sandbox off) with the load generator in this
// one, as it is in use, where clients are other machines. In-process, every
// garbage collection the generator's allocations cause stops the server's
// goroutines too (on this VM each stop-the-world phase takes 1-4 ms, every
// ~100 ms under this load), so the in-process figures overstate the server's
// tail. Same sub-benchmarks and metrics; compare /api/user with /healthz of the
// same run. Run:
//
//	go test -run '^$' -bench BenchmarkUserEndpointProcess -benchtime 20000x ./httpapi
func BenchmarkUserEndpointProcess(b *testing.B) {
	dir := b.TempDir()
	bin, err := testserver.Build(dir)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := testserver.Start(testserver.Options{Binary: bin, Dir: dir, ReadyStatus: http.StatusServiceUnavailable,
		Env: []string{"CODEBUDDY_SANDBOX=off", "CODEBUDDY_RATE_LIMIT_ANONYMOUS=1000000000", "CODEBUDDY_RATE_LIMIT_USER=1000000000"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Stop)
	alice := testserver.NewUser(b, srv.URL, "bench")
	var tok struct{ Secret string }
	alice.MustJSON(http.MethodPost, "/api/tokens", map[string]any{"name": "bench"}, http.StatusCreated, &tok)
	cookies := alice.HTTP.Jar.Cookies(mustURL(b, srv.URL))
	if len(cookies) == 0 {
		b.Fatal("no session cookie after sign-up")
	}
	healthz := func(*http.Request) {}
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.Secret) }
	viaCookie := func(r *http.Request) { r.AddCookie(cookies[0]) }
	for _, bc := range []struct {
		name, path string
		set        func(*http.Request)
		every      time.Duration
	}{
		{"saturate-baseline-healthz", "/healthz", healthz, 0},
		{"saturate-user-bearer", "/api/user", bearer, 0},
		{"saturate-user-cookie", "/api/user", viaCookie, 0},
		{"paced-baseline-healthz", "/healthz", healthz, 100 * time.Millisecond},
		{"paced-user-bearer", "/api/user", bearer, 100 * time.Millisecond},
		{"paced-user-cookie", "/api/user", viaCookie, 100 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) { load(b, srv.URL+bc.path, bc.set, 200, bc.every) })
	}
}

func mustURL(tb testing.TB, raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
