// Package cpuinfo describes the machine a benchmark ran on: the CPU model
// and the SIMD flags that matter to the kernels (read from /proc/cpuinfo
// on Linux), printed above every benchmark table.
package cpuinfo

import (
	"fmt"
	"os"
	"strings"
)

// Model returns e.g. "AMD EPYC [avx avx2 fma]", or "unknown" when
// /proc/cpuinfo cannot be read.
func Model() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	return parse(string(b))
}

func parse(cpuinfo string) string {
	model, flags := "", map[string]bool{}
	for _, line := range strings.Split(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		case "flags":
			for _, f := range strings.Fields(v) {
				flags[f] = true
			}
		}
	}
	var have []string
	for _, f := range []string{"avx", "avx2", "fma", "avx512f"} {
		if flags[f] {
			have = append(have, f)
		}
	}
	return fmt.Sprintf("%s [%s]", model, strings.Join(have, " "))
}
