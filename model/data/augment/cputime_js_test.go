//go:build js

package augment

import "syscall/js"

// cpuSeconds is the CPU time node has used (process.cpuUsage), or -1 when
// there is no such clock (a browser). On a shared, loaded machine it is a
// steadier base for a rate than the wall clock: time spent descheduled
// does not count.
func cpuSeconds() float64 {
	p := js.Global().Get("process")
	if p.IsUndefined() {
		return -1
	}
	u := p.Call("cpuUsage")
	return (u.Get("user").Float() + u.Get("system").Float()) / 1e6
}
