//go:build !js

package kernels

func cpuSeconds() float64 { return -1 }
