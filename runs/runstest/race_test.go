//go:build race

package runstest

// raceBuild builds the server under test with the race detector when the
// tests themselves run with -race (as CI does), so the run service, the hub's
// run handlers and the queue are race-checked end to end.
const raceBuild = true
