package cpuinfo

import "testing"

func TestParse(t *testing.T) {
	in := "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse avx avx2 fma bmi2\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\n"
	if got, want := parse(in), "AMD EPYC [avx avx2 fma]"; got != want {
		t.Errorf("parse: %q, want %q", got, want)
	}
}
