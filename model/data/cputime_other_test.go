//go:build !js && !unix

package data

func cpuSeconds() float64 { return -1 }
