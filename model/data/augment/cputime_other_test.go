//go:build !js && !unix

package augment

func cpuSeconds() float64 { return -1 }
