//go:build unix

package data

import "syscall"

// cpuSeconds is the CPU time this process has used (user + system). The
// pipeline benchmarks run on one core, so on a shared, loaded machine this
// is a steadier base for a rate than the wall clock (as in model/kernels).
func cpuSeconds() float64 {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return -1
	}
	return float64(u.Utime.Nano()+u.Stime.Nano()) / 1e9
}
