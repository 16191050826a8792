//go:build !race

package runstest

const raceBuild = false
