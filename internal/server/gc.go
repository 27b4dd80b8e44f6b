package server

import (
	"os"
	"runtime/debug"
)

// GCPercent is the garbage collector's target that `entrance serve` runs
// with unless GOGC is set. A password check allocates argon2id's 19 MiB,
// far more than the server's live heap: at Go's default (100) nearly every
// sign-in started a collection and the runtime handed the freed memory
// back to the kernel, only to fault it in again for the next hash — 12-20%
// of the CPU went to the kernel under a sign-in load. At 200, measured with
// internal/e2e's benchmarks on 2 cores: full password sign-ins went from
// 72-83% to 81-87% of the argon2id ceiling, refresh-token redemptions from 72%
// to 74% of the RS256 ceiling; the heap may grow to three times the live
// data instead of two.
const GCPercent = 200

// TuneGC applies GCPercent unless the GOGC environment variable (which the
// Go runtime reads itself) is set; it returns the percentage in effect.
// It changes a process-wide setting: only a program's main (or a benchmark
// standing in for it) calls it.
func TuneGC() int {
	if v, ok := os.LookupEnv("GOGC"); ok && v != "" {
		old := debug.SetGCPercent(-1)
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(GCPercent)
	return GCPercent
}
